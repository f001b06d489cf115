"""REST API for agreement runs: start one, poll it, download its CSVs."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import selectors, services
from analysis.config import RunConfig, RunConfigError
from analysis.exports import DOWNLOADS
from analysis.models import AgreementRun
from analysis.views import report_response
from annotations import selectors as annotations_selectors
from annotations.api_schema import AUTHENTICATED, errors


class RunOutput(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    files = serializers.SerializerMethodField()

    class Meta:
        model = AgreementRun
        fields = [
            "id", "project", "config", "status", "progress", "stage", "error", "attempts",
            "created_at", "started_at", "finished_at", "timings", "files",
        ]  # fmt: skip

    def get_files(self, run: AgreementRun) -> dict[str, str]:
        if run.status != AgreementRun.Status.DONE:
            return {}
        return {name: reverse("analysis-api:run-file", args=[run.pk, name]) for name in DOWNLOADS}


class RunCreateApi(APIView):
    """Start an agreement report on a project you lead; it runs in the background (poll the
    run's detail)."""

    class Input(serializers.Serializer):
        """Parses the body; `RunConfig` validates the settings."""

        class Meta:
            ref_name = "RunInput"

        criteria = serializers.ListField(child=serializers.CharField(), required=False)
        slice_keys = serializers.ListField(child=serializers.CharField(), required=False)
        reference_group = serializers.CharField(required=False, allow_null=True)
        n_boot = serializers.IntegerField(required=False)
        seed = serializers.IntegerField(required=False)
        min_slice_items = serializers.IntegerField(required=False)
        epsilon = serializers.FloatField(required=False)
        group_epsilons = serializers.DictField(child=serializers.FloatField(), required=False)
        chunk_items = serializers.IntegerField(required=False)

        def validate(self, attrs: dict) -> dict:
            try:
                return {"config": RunConfig.from_input(attrs)}
            except RunConfigError as exc:
                raise serializers.ValidationError({exc.field: [exc.message]}) from None

    @extend_schema(
        request=Input, responses={202: RunOutput, **errors(*AUTHENTICATED, 400, 403, 404, 503)}
    )
    def post(self, request: Request, slug: str) -> Response:
        project = annotations_selectors.project_get_for_lead(user=request.user, slug=slug)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.agreement_run_start(
            project=project, user=request.user, config=data.validated_data["config"]
        )
        run.refresh_from_db()
        return Response(RunOutput(run).data, status=202)


class RunDetailApi(APIView):
    """A run's status and progress; when it is done, the URLs of its CSV files."""

    @extend_schema(responses={200: RunOutput, **errors(*AUTHENTICATED, 404)})
    def get(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
        return Response(RunOutput(run).data)


class RunFileApi(APIView):
    """One CSV of a finished run (`agreement.csv`, `shortfall.csv`, `disagreements.csv`,
    `charts.csv`), or the same rows as JSON (`agreement.json`, ...)."""

    @extend_schema(
        operation_id="agreement_runs_file_retrieve",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file."),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.ANY, description="The JSON file: the CSV's rows as objects."
            ),
            **errors(*AUTHENTICATED, 404),
        },
    )
    def get(self, request: Request, run_id: int, name: str):
        run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
        response = report_response(run, name)
        services.report_download_record(run=run, name=name, actor=request.user)
        return response
