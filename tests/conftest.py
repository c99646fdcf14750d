pytest_plugins = ["tests.matrix_harness.fixtures"]
