"""benchmarks/tracking_accuracy.py: the report names the command that reproduces it."""

import shlex


def test_command_line_parses_back_to_the_same_run(load_script, tmp_path):
    script = load_script("tracking_accuracy")
    parser = script.build_parser()
    argv = ["--seeds", "1000", "1003", "--shape", "0", "--threads", "1",
            "--out", str(tmp_path / "my runs" / "native.md")]
    args = parser.parse_args(argv)
    command = script.command_line(args)
    assert command.startswith("python benchmarks/tracking_accuracy.py ")
    again = parser.parse_args(shlex.split(command)[2:])
    assert vars(again) == vars(args)


def test_command_line_names_a_docs_report_relative_to_the_repository(load_script):
    script = load_script("tracking_accuracy")
    args = script.build_parser().parse_args([])
    assert script.command_line(args).endswith("--out docs/tracking.md")
    assert "--seeds 1100 1101" in script.command_line(args)
