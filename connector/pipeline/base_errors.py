"""Why an event or a fold cannot be placed on a subject's compaction base (`subject_bases`): the raw events
before the base are deleted, so neither can be folded in their place."""

from __future__ import annotations

from connector.pipeline.folds import Position


class EventBeforeCompaction(ValueError):
    """An event older than its subject's compaction point: the raw events it belongs among are deleted."""

    def __init__(self, subject: str, event_at: Position, base_at: Position) -> None:
        super().__init__(
            f"event {event_at[1]} of {subject} occurred at {event_at[0]}, before its compaction point"
            f" {base_at[0]}: the events it belongs among were deleted after the retention period"
        )


class BaseOfAnotherVersion(ValueError):
    """A compaction base stored by a version whose folds had another shape: it must be converted first."""

    def __init__(self, subject: str, version: int, folds: int) -> None:
        super().__init__(
            f"the compaction base of {subject} is of fold version {version}, this version folds {folds}:"
            " a change of fold shape must convert the stored bases (their raw events are deleted)"
        )
