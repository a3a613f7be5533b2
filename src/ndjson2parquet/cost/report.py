"""The whole answer of `ndjson2parquet cost` as one JSON-ready document: our month per component, the
review's table beside ours at its three volumes, the choices that reach the goal, and every
assumption the figures rest on."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from . import figures, review
from .deployment import DEPLOYMENT, Deployment
from .model import DAYS, Choices, Estimate, Workload, estimate
from .prices import PriceTable


def cost_report(workload: Workload, choices: Choices, prices: PriceTable) -> dict[str, Any]:
    """Everything the command prints, as plain data (the `--format json` output)."""
    est = estimate(workload, choices, prices)
    comparisons = review.compare(workload.avg_file_kb, choices, prices)
    goal = next(c for c in comparisons if c.files_per_day == review.GOAL_FILES_PER_DAY)
    return {
        "inputs": {
            "files_per_day": workload.files_per_day,
            "avg_file_kb": workload.avg_file_kb,
            "region": prices.region,
        },
        "choices": asdict(choices),
        "prices": {"region": prices.region, "as_of": prices.as_of, "note": prices.note},
        "batching": asdict(est.batching),
        "components": [
            {
                "component": line.component,
                "category": line.category,
                "monthly_usd": round(line.usd, 2),
                "detail": line.detail,
            }
            for line in est.lines
        ],
        "total_usd": round(est.total, 2),
        "warnings": list(est.warnings),
        "review": [
            {
                "files_per_day": c.files_per_day,
                "review_usd": c.review,
                "ours_usd": {k: round(v, 2) for k, v in c.ours.items()},
                "review_total_usd": c.review_total,
                "our_total_usd": round(c.our_total, 2),
                "ratio": round(c.ratio, 4),
            }
            for c in comparisons
        ],
        "goal": {
            "files_per_day": review.GOAL_FILES_PER_DAY,
            "avg_file_kb": workload.avg_file_kb,
            "max_usd": review.GOAL_USD,
            "our_usd": round(goal.our_total, 2),
            "met": goal.our_total <= review.GOAL_USD,
        },
        "scenarios": [
            {"label": s.label.strip(), "total_usd": round(s.total, 2), "meets_goal": s.meets_goal}
            for s in review.scenarios(workload.avg_file_kb, prices, choices)
        ],
        "assumptions": assumptions(est),
    }


def assumptions(est: Estimate, d: Deployment = DEPLOYMENT) -> list[str]:
    """What the figures rest on, one line each: the model's premises, the deployment, every figure."""
    plan = est.batching
    lines = [
        f"prices: {est.region} list prices as of {est.prices_as_of}, first tier, no free tier, no savings plan; "
        "re-check them at the source URLs in the price table",
        f"a month is {DAYS:.2f} days (730 hours); arrivals spread evenly over the day; one dataset; no failed "
        "manifests (a compensated one runs its steps again)",
        f"manifests: {plan.files_per_manifest:,.1f} files each, closed by {plan.closed_by} (max_files "
        f"{est.choices.files_per_manifest:,}, target_bytes {d.batch.target_bytes // 1024**2} MiB, max_wait "
        f"{d.batch.max_wait_s:g} s); {plan.manifests_per_day:,.1f} a day; "
        + ("Glue" if plan.in_glue else "Lambda (Arrow engine)")
        + " converts them",
        f"Lambda: {d.architecture}, {d.runtime}; intake {d.intake.memory_mb} MB (SQS batch "
        f"{est.choices.sqs_batch_size}, window {d.sqs_batching_window_s} s); start, commit, compensate, put_back "
        f"{d.start.memory_mb} MB; convert "
        f"{d.convert.memory_mb} MB (timeout {d.convert_timeout_s} s); recover every {d.recover_every_min} min and "
        f"seal every {d.seal_every_min} min, recover {d.recover.memory_mb} MB (timeout {d.recover_timeout_s} s), "
        f"seal {d.seal.memory_mb} MB",
        f"Glue above {d.lambda_convert_max_bytes // 1024**3} GiB a manifest: {d.glue_version} {d.glue_worker_type} x "
        f"{d.glue_workers} workers, per second with a 1-minute minimum" + (", Flex" if est.choices.glue_flex else ""),
        f"the landing prefix is listed every {est.choices.listing_every_min} min (recover pass with list_landing): "
        f"a LIST page per 1,000 of the {est.choices.landing_days} days of inputs the landing holds (the deployment "
        + (
            f"expires them after {d.landing_expiration_days} days"
            if d.landing_expiration_days
            else "keeps them: a month of them is priced by default, --landing-days prices an expiration"
        )
        + f"; Glacier IR after {d.landing_archive_days} days), a DynamoDB lookup for each object of the last "
        f"{d.listing_lookback_s / 86400:g} days (the lookback)",
        f"DynamoDB {est.choices.dynamodb}"
        + (
            f" (autoscaling to the day's average at {d.dynamodb_target_utilisation:.0%} utilisation: bursts above "
            "it throttle and retry)"
            if est.choices.dynamodb == "provisioned"
            else ""
        )
        + f"; records expire {d.store.retention_days} days after they finish (TTL)",
        f"S3 Standard; the lake holds {est.choices.lake_months} month(s) of Parquet"
        + (" in Intelligent-Tiering, read in its first month only (Q22)" if est.choices.intelligent_tiering else "")
        + "; SSE-KMS with S3 Bucket Keys; the producers' PUT of each input is counted",
        "not counted: data transfer out of the region, Athena or other readers' queries, NAT gateways (none: VPC "
        "endpoints), backups/PITR of the table, SNS notifications of failures",
        "Lambdas in a VPC: "
        + (
            ", ".join(d.interface_endpoints) + f" interface endpoints in {d.availability_zones} "
            "AZs; S3 and DynamoDB through free gateway endpoints"
            if est.choices.vpc
            else "no VPC"
        ),
    ]
    lines += [figure.describe(name) for name, figure in figures.all_figures().items()]
    return lines
