"""Device groups publish no event: members are read live, so nothing needs telling when an
asset changes (a dynamic group follows ``asset.changed`` by construction)."""
