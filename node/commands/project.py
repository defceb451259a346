"""``harmonia-node project``: create an annotation project from the stored series, list them."""

from __future__ import annotations

import argparse

from node.commands.options import add_data_dir, settings_from
from node.errors import ProjectSetupError
from node.exit_codes import ExitCode


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``project`` subcommand."""
    parser = subparsers.add_parser("project", help="create or list annotation projects")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a project: one task per matching series")
    add_data_dir(create)
    create.add_argument("--name", required=True)
    create.add_argument("--guideline", required=True, metavar="NAME@VERSION")
    create.add_argument("--modality", default="")
    create.add_argument("--study-date-from", default="", metavar="YYYY-MM-DD")
    create.add_argument("--study-date-to", default="", metavar="YYYY-MM-DD")
    create.add_argument("--series-description", default="")
    create.add_argument("--readers", required=True, help="comma-separated usernames")
    create.add_argument("--reviewers", default="", help="comma-separated usernames")
    create.add_argument("--readers-per-task", type=int, default=None, metavar="K")
    create.add_argument("--by", default="cli", help="who creates it, for the audit log")
    create.set_defaults(func=_create)
    upgrade = actions.add_parser(
        "upgrade",
        help="move a project to another version of its guideline; tasks whose labels changed "
        "in meaning go to the re-review queue",
    )
    add_data_dir(upgrade)
    upgrade.add_argument("--project", required=True)
    upgrade.add_argument("--guideline", required=True, metavar="NAME@VERSION")
    upgrade.add_argument("--by", default="cli", help="who upgrades it, for the audit log")
    upgrade.set_defaults(func=_upgrade)
    listing = actions.add_parser("list", help="list projects")
    add_data_dir(listing)
    listing.set_defaults(func=_list)


def _create(args: argparse.Namespace) -> int:
    name, at, version = args.guideline.partition("@")
    if not at or not name or not version:
        raise ProjectSetupError(
            f"--guideline {args.guideline!r}: write it as NAME@VERSION, e.g. lung-nodule@1.0"
        )
    from node.annotate import ProjectSpec, SeriesQuery
    from node.runtime import open_node

    spec = ProjectSpec(
        name=args.name,
        guideline_name=name,
        guideline_version=version,
        query=SeriesQuery(
            modality=args.modality,
            study_date_from=args.study_date_from,
            study_date_to=args.study_date_to,
            series_description=args.series_description,
        ),
        readers=_names(args.readers),
        readers_per_task=args.readers_per_task,
        reviewers=_names(args.reviewers),
    )
    with open_node(settings_from(args)) as runtime:
        project = runtime.annotation.projects.create(spec, created_by=args.by)
    print(
        f"created project {project.name}: {project.task_count} task(s), "
        f"{project.readers_per_task} reader(s) per task"
    )
    return ExitCode.OK


def _upgrade(args: argparse.Namespace) -> int:
    name, at, version = args.guideline.partition("@")
    if not at or not name or not version:
        raise ProjectSetupError(
            f"--guideline {args.guideline!r}: write it as NAME@VERSION, e.g. lung-nodule@1.1"
        )
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        result = runtime.annotation.upgrades.upgrade(args.project, name, version, by=args.by)
    labels = ", ".join(result.diff.rereview_labels) or "none"
    print(
        f"project {result.project}: {name}@{result.from_version} -> {name}@{result.to_version}; "
        f"labels changed in meaning: {labels}; {len(result.tasks)} task(s), "
        f"{len(result.rereview)} reader part(s) sent to re-review"
    )
    return ExitCode.OK


def _list(args: argparse.Namespace) -> int:
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        for project in runtime.annotation.projects.list():
            print(
                f"{project.name}\t{project.guideline_name}@{project.guideline_version}\t"
                f"{project.task_count} task(s)\t{project.status_counts}"
            )
    return ExitCode.OK
