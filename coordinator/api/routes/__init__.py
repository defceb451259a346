"""The coordinator's HTTP routes: health, admin (sites, guidelines), enrollment, site API."""
