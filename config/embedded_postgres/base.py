"""PostgreSQL backend that starts the embedded server before it connects.

Starting on first connection (not at settings import) keeps commands that never
touch the database fast, and lets every process share one server.
"""

from django.db.backends.postgresql import base, client

from config import embedded


class DatabaseClient(client.DatabaseClient):
    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        settings_dict = {**settings_dict, "HOST": embedded.start_postgres(settings_dict["NAME"])}
        return super().settings_to_cmd_args_env(settings_dict, parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self):
        params = super().get_connection_params()
        params["host"] = embedded.start_postgres(self.settings_dict["NAME"])
        return params
