"""The core's services: what happens when people talk to the bot."""
