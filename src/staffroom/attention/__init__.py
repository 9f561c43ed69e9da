"""What needs an admin's attention, across the domains (the admin console's home)."""
