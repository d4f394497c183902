"""The simulated Childview, served for real over HTTP: auth, error shape, validation, idempotency, faults."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from tests.adapters.childview.support import Served

PROMPT: dict[str, Any] = {
    "staff_id": "CM-0042",
    "prompt_type": "MANAGEMENT_OVERSIGHT_DUE",
    "due_date": "2026-11-30",
    "show_from": "2026-11-23",
    "text": "Why: LINC-CS-ALLOC (5.1.1)",
    "severity": "normal",
}


def create(cv: Served, key: str | None = None, **changes: Any) -> requests.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return cv.call("POST", "/young-people/YP-00412/prompts", {**PROMPT, **changes}, headers=headers)


@pytest.mark.parametrize("key", [None, "wrong"])
def test_a_missing_or_wrong_key_is_401_in_childviews_error_shape(childview: Served, key: str | None) -> None:
    response = childview.call("GET", "/prompts", key=key)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "detail"}


def test_an_unknown_path_answers_in_the_error_shape(childview: Served) -> None:
    response = childview.call("GET", "/cases")
    assert response.status_code == 404 and "error" in response.json()


def test_case_and_staff_prompts_are_listed_and_fetched(childview: Served) -> None:
    case_prompt = create(childview).json()
    staff = childview.call("POST", "/staff/CM-0042/prompts", {**PROMPT, "prompt_type": "SUPERVISION_DUE"})
    assert staff.status_code == 201 and staff.json()["yp_id"] is None

    open_for_yp = childview.call("GET", "/young-people/YP-00412/prompts?status=OPEN").json()["prompts"]
    assert [p["prompt_id"] for p in open_for_yp] == [case_prompt["prompt_id"]]
    assert len(childview.call("GET", "/prompts").json()["prompts"]) == 2
    fetched = childview.call("GET", f"/prompts/{case_prompt['prompt_id']}").json()
    assert fetched == {**PROMPT, "prompt_id": case_prompt["prompt_id"], "yp_id": "YP-00412", "status": "OPEN"}


def test_a_withdrawn_prompt_leaves_the_open_list(childview: Served) -> None:
    prompt_id = create(childview).json()["prompt_id"]
    assert childview.call("PATCH", f"/prompts/{prompt_id}", {"status": "WITHDRAWN"}).status_code == 200
    assert childview.call("GET", "/young-people/YP-00412/prompts?status=OPEN").json() == {"prompts": []}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"prompt_type": "PARTY"}, "prompt_type"),
        ({"due_date": "30/11/2026"}, "due_date"),
        ({"staff_id": "Jo Bloggs"}, "staff_id"),
        ({"severity": "urgent"}, "severity"),
        ({"text": ""}, "text"),
    ],
)
def test_bad_fields_are_400_naming_the_field(childview: Served, changes: dict[str, Any], field: str) -> None:
    response = create(childview, **changes)
    assert response.status_code == 400 and field in response.json()["error"]["detail"]
    assert childview.store.all_prompts() == []


def test_a_staff_prompt_must_be_for_the_staff_member_in_the_path(childview: Served) -> None:
    assert childview.call("POST", "/staff/CM-0051/prompts", PROMPT).status_code == 400


def test_patching_what_cannot_change_or_does_not_exist(childview: Served) -> None:
    prompt_id = create(childview).json()["prompt_id"]
    assert childview.call("PATCH", f"/prompts/{prompt_id}", {"staff_id": "CM-0051"}).status_code == 400
    assert childview.call("PATCH", "/prompts/PR-99999", {"status": "WITHDRAWN"}).status_code == 404


def test_the_same_key_and_body_answer_the_original(childview: Served) -> None:
    first = create(childview, key="k1")
    again = create(childview, key="k1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert len(childview.store.all_prompts()) == 1


def test_the_same_key_with_another_body_is_422(childview: Served) -> None:
    create(childview, key="k1")
    response = create(childview, key="k1", due_date="2026-12-07")
    assert response.status_code == 422 and response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(childview.store.all_prompts()) == 1


def test_a_key_over_100_characters_is_400(childview: Served) -> None:
    assert create(childview, key="k" * 101).status_code == 400


def test_oversight_records_are_created_patched_and_listed(childview: Served) -> None:
    prompt_id = create(childview).json()["prompt_id"]
    body = {
        "staff_id": "CM-0042",
        "manager_id": "TM-0007",
        "prompt_id": prompt_id,
        "due_date": "2026-11-30",
        "fields": {"reason": "LINC-CS-ALLOC (5.1.1)"},
    }
    created = childview.call("POST", "/young-people/YP-00412/oversight-records", body)
    assert created.status_code == 201
    record_id = created.json()["record_id"]
    patched = childview.call(
        "PATCH", f"/oversight-records/{record_id}", {"fields": {"due_date": "2026-12-07"}}
    )
    assert patched.json()["fields"] == {"reason": "LINC-CS-ALLOC (5.1.1)", "due_date": "2026-12-07"}
    assert [
        r["record_id"] for r in childview.call("GET", "/oversight-records").json()["oversight_records"]
    ] == [record_id]


def test_a_record_for_an_unknown_prompt_is_400(childview: Served) -> None:
    body = {"staff_id": "CM-0042", "prompt_id": "PR-404", "due_date": "2026-11-30", "fields": {}}
    assert childview.call("POST", "/young-people/YP-1/oversight-records", body).status_code == 400


def test_injected_faults_answer_first_with_retry_after(childview: Served) -> None:
    childview.store.inject_faults(429, retry_after=7)
    childview.store.inject_faults(503)
    first, second, third = (childview.call("GET", "/prompts") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 503 and second.json()["error"]["code"] == "MAINTENANCE"
    assert third.status_code == 200


def test_a_lost_answer_is_applied_but_never_heard(childview: Served) -> None:
    childview.store.lose_next_answers(1)
    with pytest.raises(requests.ConnectionError):
        create(childview, key="k1")
    assert len(childview.store.all_prompts()) == 1
    # Sent again under the same key, it is answered with the prompt already made.
    again = create(childview, key="k1")
    assert (
        again.status_code == 201
        and again.json()["prompt_id"] == childview.store.all_prompts()[0]["prompt_id"]
    )
