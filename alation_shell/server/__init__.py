"""`alation-shell serve`: the SSH front end (asyncssh), and the users and instances of its server home.

Only this package imports asyncssh and bcrypt, and only when a server command runs.
"""
