"""Statistics on cached segment statistics: corpus scores, bootstrap CIs, paired tests, clusters."""
