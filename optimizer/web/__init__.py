"""The planner's workbench: a local web application over the library (`ewppt serve`)."""
