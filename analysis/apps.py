from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Analysis"

    def ready(self) -> None:
        # Register the tasks in every process (web, worker, commands): services queue them
        # by name through analysis.dispatch and never import analysis.tasks themselves.
        from analysis import tasks  # noqa: F401
