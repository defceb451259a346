"""``harmonia-coordinator model``: list the registry, show a model card, import outside weights.

``model import`` registers weights trained outside the consortium (on public
data) as a model version that ``round train --from-model`` starts from
(:mod:`coordinator.models.imported`). ``model list`` prints the versions,
``model show NAME[:VERSION]`` one version's card (Markdown, or ``--json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coordinator.commands.options import add_data_dir, settings_from
from coordinator.exit_codes import ExitCode

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``model`` subcommand."""
    parser = subparsers.add_parser(
        "model", help="list registered models, show a model card, import pre-trained weights"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every registered version, newest last")
    add_data_dir(listing)
    listing.add_argument("--name", default=None, help="only this model's versions")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="a version's model card")
    add_data_dir(show)
    show.add_argument("model", metavar="NAME[:VERSION]", help="the latest version if none given")
    show.add_argument("--json", action="store_true", help="the card as JSON")
    show.set_defaults(func=_show)
    imported = actions.add_parser(
        "import",
        help="register weights trained elsewhere (public data) to start training runs from",
    )
    add_data_dir(imported)
    imported.add_argument("--plan", type=Path, required=True, help="the training plan they fit")
    imported.add_argument(
        "--weights",
        type=Path,
        required=True,
        help="a Harmonia weights file or a PyTorch state_dict (torch.save)",
    )
    imported.add_argument(
        "--source", required=True, help="where they come from (shown in the model card)"
    )
    imported.add_argument("--name", default=None, help="model name (default: the plan's name)")
    imported.set_defaults(func=_import)


def _list(args: argparse.Namespace) -> int:
    from coordinator.runtime import open_coordinator

    with open_coordinator(settings_from(args)) as runtime:
        versions = runtime.models.versions(args.name)
    for version in versions:
        made = "imported" if version.imported_from is not None else f"run {version.run_id}"
        print(
            f"{version.name}:{version.version}\t{version.created_at:%Y-%m-%d %H:%M}\t{made}\t"
            f"sites {', '.join(version.sites) or 'none'}\t{version.parameters} parameters"
        )
    return ExitCode.OK


def _show(args: argparse.Namespace) -> int:
    from coordinator.models import card_markdown, model_card
    from coordinator.runtime import open_coordinator

    name, _, number = str(args.model).partition(":")
    with open_coordinator(settings_from(args)) as runtime:
        version = runtime.models.get(name, _version_number(number))
    print(json.dumps(model_card(version), indent=2) if args.json else card_markdown(version))
    return ExitCode.OK


def _version_number(text: str) -> int | None:
    from shared.errors import InvalidInputError

    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidInputError(f"{text!r} is not a version number (1, 2, ...)")
    return int(text)


def _import(args: argparse.Namespace) -> int:
    from coordinator.models import import_version, read_weights
    from coordinator.runtime import open_coordinator
    from shared.errors import InvalidInputError
    from shared.schemas.training import TrainingPlan

    plan = TrainingPlan.from_yaml(args.plan.read_bytes(), source=str(args.plan))
    try:
        data = args.weights.read_bytes()
    except OSError as error:
        raise InvalidInputError(f"cannot read {args.weights}: {error.strerror}") from None
    arrays = read_weights(data, source=str(args.weights))
    with open_coordinator(settings_from(args)) as runtime:
        version = import_version(runtime.models, plan, arrays, source=args.source, name=args.name)
    print(json.dumps(version.to_json(), indent=2))
    return ExitCode.OK
