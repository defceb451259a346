"""``harmonia-node relink``: hospital IT's side of the optional re-identification link.

``keygen`` makes the key pair: the public key goes into the node's settings
(``HARMONIA_NODE_RELINK_PUBLIC_KEY``), the private key stays with hospital IT,
off the node. ``show`` opens the sealed links of one pseudonym with that
private key; without it, nobody (the node included) can read them.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from node.commands.options import add_data_dir, settings_from
from node.errors import NotFoundError
from node.exit_codes import ExitCode
from shared.errors import ConfigurationError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``relink`` subcommand."""
    parser = subparsers.add_parser(
        "relink", help="re-identification link keys, and reading a pseudonym's link (IT only)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    keygen = actions.add_parser("keygen", help="write a new X25519 key pair (PEM)")
    keygen.add_argument("--private-key", type=Path, required=True, help="where to write it (0600)")
    keygen.add_argument("--public-key", type=Path, required=True)
    keygen.set_defaults(func=_keygen)
    show = actions.add_parser("show", help="print the original identities behind a pseudonym")
    add_data_dir(show)
    show.add_argument("--private-key", type=Path, required=True)
    show.add_argument("pseudonym", help="the pseudonymous PatientID, e.g. as shown in the UI")
    show.set_defaults(func=_show)


def _keygen(args: argparse.Namespace) -> int:
    from node.dicom.deid import generate_relink_keypair

    private_pem, public_pem = generate_relink_keypair()
    for path in (args.private_key, args.public_key):
        if path.exists():
            raise ConfigurationError(f"{path} exists; refusing to overwrite a key")
    fd = os.open(args.private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    args.public_key.write_bytes(public_pem)
    print(f"private key: {args.private_key} (keep it off the node)")
    print(f"public key:  {args.public_key} (set HARMONIA_NODE_RELINK_PUBLIC_KEY to it)")
    return ExitCode.OK


def _show(args: argparse.Namespace) -> int:
    try:
        private_pem = args.private_key.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {args.private_key}: {exc.strerror}") from exc
    from node.dicom.deid import open_relink
    from node.runtime import open_node

    with open_node(settings_from(args)) as runtime:
        sealed = runtime.store.sealed_links(args.pseudonym)
    if not sealed:
        raise NotFoundError(
            f"no re-identification link for {args.pseudonym}: the link was off when it was "
            "ingested, or the pseudonym is wrong"
        )
    for blob in sealed:
        print(json.dumps(open_relink(private_pem, blob), sort_keys=True))
    return ExitCode.OK
