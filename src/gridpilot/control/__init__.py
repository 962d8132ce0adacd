"""Device control: asset online/offline status and commands with acknowledgement."""
