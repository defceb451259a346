import subprocess
import sys

import node.learn as learn

EXPECTED = [
    "TRAINING_POLICY_FILE",
    "DpSchedule",
    "DpStatement",
    "LocalUpdate",
    "Prediction",
    "TrainingAccountant",
    "TrainingData",
    "TrainingPolicy",
    "check_training_budget",
    "dice_score",
    "dp_schedule",
    "dp_sgd_charge",
    "dp_sgd_epsilon",
    "evaluate_local",
    "evaluate_model",
    "initial_seed",
    "initial_weights",
    "load_training_data",
    "predict",
    "predict_series",
    "round_statement",
    "train_local",
]


def test_export_list_is_exact_sorted_and_resolvable() -> None:
    assert learn.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(learn, name) is not None
    assert set(EXPECTED) <= set(dir(learn))


def test_unknown_names_raise_attribute_error() -> None:
    try:
        learn.nothing_here  # noqa: B018
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_package_and_privacy_module_import_without_torch() -> None:
    code = (
        "import sys, node.learn, node.learn.privacy\n"
        "from node.learn import TrainingAccountant, dp_sgd_charge\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
