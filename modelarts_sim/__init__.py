"""A local stand-in for the ModelArts training-job-configs API, for demos and tests.

Application code never imports this package.
"""
