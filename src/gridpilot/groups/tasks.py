"""Device groups have no background work: membership is evaluated at every read."""
