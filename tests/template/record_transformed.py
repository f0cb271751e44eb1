"""Record what template.yaml deploys under every switch into `transformed.json`.

    .venv/bin/python -m tests.template.record_transformed

For a change that means to alter what is deployed: run it, read the fixture's diff, and say in
the commit what changed and why. `test_transform_unchanged` then holds the template to it.
"""

from __future__ import annotations

import json
import logging
import os

from tests.template.test_transform_unchanged import COMBINATIONS, FIXTURE, canonical, document


def record() -> None:
    """Each combination's entries, every distinct canonical value stored once under its key."""
    variants: dict[str, list[object]] = {}
    combinations = []
    for combination in COMBINATIONS:
        entries = {}
        for key, value in canonical(document(), dict(combination)).items():
            known = variants.setdefault(key, [])
            if value not in known:
                known.append(value)
            entries[key] = known.index(value)
        combinations.append({"parameters": dict(combination), "entries": entries})
    recorded = {"combinations": combinations, "variants": variants}
    FIXTURE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # aws-sam-translator warns of its own unpublished metrics once per transform.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    record()
    print(f"{FIXTURE}: {len(COMBINATIONS)} combinations")
