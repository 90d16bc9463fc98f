"""The subscription lifecycle free of any Pulumi front end: field table, planning, CRUD.

Both front ends sit on it: the dynamic provider (`bandwidth_provider.provider`, frozen path) and the
`bandwidth` provider plugin (`bandwidth_provider.plugin`).
"""
