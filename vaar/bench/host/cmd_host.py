"""``vaar-bench host init|team|freeze``: set up the submission host, add teams, publish the final board."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "set up a submission host (init), add a team (team add), close it and rank the private part (freeze)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    i = sub.add_parser("init", help="create HOSTDIR with the hidden test labels and the host secret")
    i.add_argument("hostdir", type=Path, metavar="HOSTDIR")
    i.add_argument("--dataset", type=Path, required=True, metavar="DIR", help="the published dataset folder")
    i.add_argument("--private-test-labels", type=Path, required=True, metavar="FILE",
                   help="the hidden test labels (written by `vaar publish --private-test-labels`)")
    i.add_argument("--host-secret-file", type=Path, required=True, metavar="FILE",
                   help="the secret the labels were published with (also splits them public/private)")
    i.add_argument("--public-fraction", type=float, default=0.3, help="share of clips in the public part (0.3)")
    i.add_argument("--daily-quota", type=int, default=5, metavar="N", help="scored submissions a team a UTC day (5)")
    i.add_argument("--total-quota", type=int, default=100, metavar="N", help="scored submissions a team in all (100)")
    i.add_argument("--max-mb", type=float, default=200.0, help="largest predictions upload in MB (200, as vaar-bench score)")
    i.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples for the private part (1000)")
    i.add_argument("--lease", type=float, default=60.0, metavar="S", help="a worker's lease on a job, seconds (60)")
    i.add_argument("--release", choices=("ladder", "exact"), default="ladder",
                   help="'ladder' (default); 'exact' releases every exact public score: only to measure the "
                        "boosting attack, never for a real competition")
    i.add_argument("--allow-models", action="store_true",
                   help="accept --model submissions (run in vaar.bench.sandbox over --dataset's media); only "
                        "where the sandbox runs models as a user that cannot read HOSTDIR")
    i.add_argument("--model-timeout", type=float, default=3600.0, metavar="S", help="wall-clock limit a model (3600)")
    i.add_argument("--model-memory-mb", type=int, default=8192, metavar="MB", help="memory limit a model (8192)")
    t = sub.add_parser("team", help="team add NAME: register a team and print its token once")
    t.add_argument("action", choices=("add",))
    t.add_argument("hostdir", type=Path, metavar="HOSTDIR")
    t.add_argument("name", metavar="NAME")
    f = sub.add_parser("freeze", help="close submissions, rank each team's final submissions on the private part")
    f.add_argument("hostdir", type=Path, metavar="HOSTDIR")


def run(args: argparse.Namespace) -> int:
    from vaar.bench.host.config import HostConfig, init_host, load_config

    if args.host_command == "init":
        cfg = HostConfig(dataset=None, public_fraction=args.public_fraction, daily_quota=args.daily_quota,
                         total_quota=args.total_quota, release=args.release, max_mb=args.max_mb,
                         resamples=args.bootstrap, lease_s=args.lease, models=args.allow_models,
                         model_timeout_s=args.model_timeout, model_memory_mb=args.model_memory_mb)
        counts = init_host(args.hostdir, labels=args.private_test_labels, secret_file=args.host_secret_file,
                           dataset=args.dataset, cfg=cfg)
        print(f"host {args.hostdir}: {counts['clips']} hidden test clips ({counts['public']} public part, "
              f"{counts['private']} private part); quota {cfg.daily_quota}/day, {cfg.total_quota} in all")
        print(f"next: vaar-bench host team add {args.hostdir} NAME; vaar-bench serve {args.hostdir}; "
              f"vaar-bench worker {args.hostdir}")
        return 0
    if args.host_command == "team":
        from vaar.bench.host.store import add_team

        name = args.name.strip()
        paths, _ = load_config(args.hostdir)
        token = add_team(paths.db, name)
        print(f"team {name!r} added; its token (shown once, only its hash is kept; hand it over privately):")
        print(token)
        return 0
    from vaar.bench.host.board import freeze

    results = freeze(args.hostdir)
    for task, rows in results.items():
        if not rows:
            continue
        print(f"{task}: final ranking on the private part")
        for r in rows:
            score = "n/a" if r["score"] is None else f"{100 * r['score']:.2f}"
            lo_hi = "" if not r["ci95"] else f" [{100 * r['ci95'][0]:.2f}, {100 * r['ci95'][1]:.2f}]"
            print(f"  {r['rank']:>3}. {r['team']}  {r['score_name']} {score}{lo_hi}  (submission {r['submission']})")
    print(f"rendered {args.hostdir / 'leaderboard' / 'LEADERBOARD.md'} and index.html")
    return 0
