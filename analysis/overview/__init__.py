"""The lead overview: the home page of leads and staff, across the projects they lead."""
