"""Rasa's command line with this project's fixes to Rasa 3.6. Run it with Rasa's Python.

`bizbot rasa-server` and docker-compose start Rasa through this file instead of `rasa`,
with the same arguments (``python rasa_run.py run --enable-api ...``). Each fix keeps Rasa's
behaviour and answers a measurement in docs/performance.md.
"""

from __future__ import annotations

import sys
from typing import Any


def validate_action_responses_once() -> None:
    """Check action-server responses with one validator built at start-up.

    Rasa 3.6 calls ``jsonschema.validate`` on every action response. That call first checks
    the schema itself against the draft 2020-12 metaschema, which cost three quarters of
    Rasa's CPU per message here (py-spy). The schema never changes, so it is checked once.
    An invalid response still goes through Rasa's own code, which raises Rasa's error.
    """
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    rasa_validate = RemoteAction._validate_action_result

    def validate(self: RemoteAction, result: dict[str, Any]) -> bool:
        if validator.is_valid(result):
            return True
        return bool(rasa_validate(self, result))

    RemoteAction._validate_action_result = validate


def load_models_without_a_training_step() -> None:
    """Build a trained TensorFlow model's weights with one prediction, not one training step.

    To create the weights before restoring them, Rasa 3.6 fits every loaded model on one
    example. Tracing that training step, with its gradients and the entity CRF loss, took
    most of ``rasa run``'s cold start here (py-spy). Restoring the checkpoint first and then
    running the prediction Rasa already runs creates the same variables. TensorFlow restores
    each variable from the checkpoint as it is created, so the predictions are the same. The
    optimizer's saved state, which prediction never uses, is left unread. Loads for
    fine-tuning, or with no example to predict on, keep Rasa's own path.
    """
    from rasa.utils.tensorflow.models import RasaModel, logger

    rasa_load = RasaModel.load.__func__

    def load(
        cls: type[RasaModel],
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode or predict_data_example is None:
            return rasa_load(
                cls,
                model_file_name,
                model_data_example,
                predict_data_example,
                finetune_mode,
                *args,
                **kwargs,
            )
        logger.debug(f"Loading the model from {model_file_name} for prediction only...")
        model = cls(*args, **kwargs)
        model.load_weights(model_file_name).expect_partial()
        model.run_inference(predict_data_example)
        return model

    RasaModel.load = classmethod(load)


def skip_merging_a_tracker_that_holds_the_stored_one() -> None:
    """Save a tracker without comparing every event when it already holds the stored ones.

    Before each save, Rasa 3.6's Redis tracker store merges the stored tracker into the new
    one. Its test for "nothing to merge" replays the tracker and compares the events with an
    equality that JSON-encodes each one (jsonpickle). That is work for every event of the
    conversation, on every message (py-spy). When the new tracker's first events are the
    stored ones (compared as dicts, timestamps included), the new tracker is the merge. Any
    other case goes through Rasa's own merge.
    """
    from rasa.core.tracker_store import RedisTrackerStore

    rasa_merge = RedisTrackerStore._merge_trackers

    def merge(prior_tracker: Any, tracker: Any) -> Any:
        prior = list(prior_tracker.events)
        current = list(tracker.events)
        if len(current) >= len(prior) and all(
            new.as_dict() == old.as_dict() for new, old in zip(current, prior, strict=False)
        ):
            return tracker
        return rasa_merge(prior_tracker, tracker)

    RedisTrackerStore._merge_trackers = staticmethod(merge)


def main() -> None:
    """Apply the fixes, then hand over to Rasa's own entry point."""
    validate_action_responses_once()
    load_models_without_a_training_step()
    skip_merging_a_tracker_that_holds_the_stored_one()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
