"""Annotators' judgements get a group of their own (issue 10).

Every project gets `annotator_group = "annotators"`. Existing raters keep their group, so no
stored judgement moves and no finished report changes. An annotator membership that still has
the old implicit default `expert` and no rater yet (the person never submitted anything in the
project) is moved to the project's annotator group, so their first labels no longer land in a
published expert group; one that already has a rater keeps its group, matching that rater
(a lead can move it on the QC page, which relabels the rater's judgements consistently).
"""

from django.db import migrations, models


def annotators_to_their_group(apps, schema_editor) -> None:
    Membership = apps.get_model("annotations", "Membership")
    Rater = apps.get_model("annotations", "Rater")
    has_rater = Rater.objects.filter(
        project_id=models.OuterRef("project_id"), user_id=models.OuterRef("user_id")
    )
    Membership.objects.filter(role="annotator", rater_group="expert").exclude(
        models.Exists(has_rater)
    ).update(rater_group="annotators")


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0009_judge_parser_version_longer"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="annotator_group",
            field=models.CharField(
                default="annotators",
                help_text="The rater group new annotators' judgements go into.",
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="rater_group",
            field=models.CharField(
                default="annotators",
                help_text="The group this user's judgements go under.",
                max_length=64,
            ),
        ),
        migrations.RunPython(annotators_to_their_group, migrations.RunPython.noop),
    ]
