"""The AWS deployment's entry points: Lambda handlers (`handlers/`), the Step Functions workflow
(`state_machine.asl.json`), and what they share (settings from the environment, lazily built SDK
clients, Powertools observability). Thin: parse, call the library (`workflow.steps`, ...), report."""
