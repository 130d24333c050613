pytest_plugins = ["tests.simulator_plugin"]
