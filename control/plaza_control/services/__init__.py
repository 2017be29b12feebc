"""Services hold the rules; they see repositories only through their contracts."""
