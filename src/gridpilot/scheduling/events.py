"""Scheduled commands publish the control domain's ``command.updated`` (through
``control.events.publish_command_changes``) for each command a run queued; no topic of their own."""
