"""REST API: one thin view per operation (validate, call a service or selector, serialize)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
from annotations.api_schema import AUTHENTICATED, errors
from annotations.importers import FORMATS, labelstudio
from annotations.models import ImportJob


class ProjectListApi(APIView):
    """The projects the user belongs to (every project for a superuser)."""

    class Output(serializers.Serializer):
        class Meta:
            ref_name = "Project"

        name = serializers.CharField()
        slug = serializers.CharField()
        description = serializers.CharField()
        n_items = serializers.IntegerField()

    @extend_schema(responses={200: Output(many=True), **errors(*AUTHENTICATED)})
    def get(self, request: Request) -> Response:
        projects = selectors.projects_for_user(user=request.user)
        return Response(self.Output(projects, many=True).data)


class ImportJobOutput(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    lines_done = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "project",
            "format",
            "status",
            "size_bytes",
            "lines_done",
            "counts",
            "notes",
            "errors",
            "error_count",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]

    def get_lines_done(self, job: ImportJob) -> int:  # progress while running
        return services.import_job_progress(job=job)

    def get_url(self, job: ImportJob) -> str:
        return reverse("api:import-detail", args=[job.pk])


class ImportCreateApi(APIView):
    """Upload a file to import into a project you lead; it is imported in the background
    (poll the job's `url`)."""

    parser_classes = [MultiPartParser, FormParser]

    class Input(serializers.Serializer):
        class Meta:
            ref_name = "ImportInput"

        file = serializers.FileField()
        format = serializers.ChoiceField(choices=sorted(FORMATS), default="native")
        # Label Studio only (README "Label Studio").
        config = serializers.FileField(required=False, help_text="labelstudio: labeling config")
        human_group = serializers.CharField(required=False, max_length=64)
        mapping = serializers.ListField(
            child=serializers.CharField(max_length=300), required=False, max_length=10
        )
        item_id_field = serializers.CharField(required=False, max_length=200)

        def validate(self, data: dict) -> dict:
            given = {k: data.pop(k) for k in list(data) if k not in ("file", "format")}
            data["options"] = {}
            if not given:
                return data
            if data["format"] != "labelstudio":
                raise serializers.ValidationError(f"{', '.join(given)}: only for labelstudio")
            if "config" in given:
                given["config"] = given["config"].read(labelstudio.CONFIG_MAX_BYTES + 1)
            try:
                data["options"] = labelstudio.options_clean(**given)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from None
            return data

    @extend_schema(
        request={"multipart/form-data": Input},
        responses={202: ImportJobOutput, **errors(*AUTHENTICATED, 400, 403, 404, 415, 503)},
    )
    def post(self, request: Request, slug: str) -> Response:
        project = selectors.project_get_for_lead(user=request.user, slug=slug)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.import_job_create(project=project, user=request.user, **data.validated_data)
        job.refresh_from_db()
        return Response(ImportJobOutput(job).data, status=202)


class ImportDetailApi(APIView):
    """An import job of a project you lead: status, counts and line-numbered errors."""

    @extend_schema(responses={200: ImportJobOutput, **errors(*AUTHENTICATED, 404)})
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.import_job_get_for_lead(user=request.user, job_id=job_id)
        return Response(ImportJobOutput(job).data)
