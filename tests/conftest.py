pytest_plugins = ["tests.matrix_harness.fixtures", "tests.postgres_server", "tests.s3_standin"]
