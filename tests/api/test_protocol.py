"""The API's edges: unknown paths, the schema and docs, and the one error shape."""

from rest_framework import exceptions

from sla_portal.api_errors import api_exception_handler, flatten_errors
from sla_portal.errors import DomainError, Forbidden, InvalidInput, InvalidTransition


def test_unknown_api_paths_answer_json_404(api):
    client = api("marketer")
    for method, path in (
        ("get", "/api/nothing-here/"),
        ("get", "/api/leads/abc/"),
        ("post", "/api/leads/1.5/qualify/"),
        ("post", "/api/leads/99999999999999999999999/qualify/"),
        ("post", "/api/leads//hand-off/"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json", path


def test_a_missing_trailing_slash_redirects(api):
    assert api("marketer").get("/api/leads").status_code == 301


def test_the_schema_is_served_and_the_docs_need_a_login(client, users):
    schema = client.get("/api/schema/?format=json")
    docs = client.get("/api/docs/")
    client.force_login(users["rep"])
    docs_signed_in = client.get("/api/docs/")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/intake/" in paths and "/api/leads/{id}/hand-off/" in paths and "/api/schema/" not in paths
    assert set(schema.json()["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    assert docs.status_code == 302 and "/accounts/login/" in docs["Location"]
    assert docs_signed_in.status_code == 200 and b"swagger" in docs_signed_in.content.lower()


def test_wrong_methods_are_405(api, agreement):
    assert api("marketer").delete("/api/leads/").status_code == 405
    assert api("marketer").get("/api/intake/").status_code == 405


def test_service_errors_map_to_status_codes():
    def answer(exc):
        response = api_exception_handler(exc, {})
        return response.status_code, response.data

    class Thing:
        pk = 7

    assert answer(InvalidInput({"email": "Bad.", "__all__": "Whole thing."})) == (
        400,
        {
            "detail": "Invalid input.",
            "code": "invalid",
            "errors": {"email": ["Bad."], "non_field_errors": ["Whole thing."]},
        },
    )
    assert answer(Forbidden("Not yours.")) == (403, {"detail": "Not yours.", "code": "permission_denied"})
    assert answer(DomainError("Paused.", code="handoffs_paused")) == (
        409,
        {"detail": "Paused.", "code": "handoffs_paused"},
    )
    status, body = answer(InvalidTransition(Thing(), from_state="a", to_state="b", why="no"))
    assert status == 409 and body["from_state"] == "a" and body["to_state"] == "b"
    assert api_exception_handler(ZeroDivisionError(), {}) is None  # a bug stays a 500, loudly


def test_nested_errors_are_flattened_to_dotted_names():
    detail = exceptions.ValidationError({"touchpoint": {"kind": ["Bad."]}, "items": [{}, {"name": ["Empty."]}]}).detail
    assert flatten_errors(detail) == {"touchpoint.kind": ["Bad."], "items.1.name": ["Empty."]}


def test_options_on_an_export_answers_json_even_when_csv_is_asked_for(api):
    response = api("marketer").options("/api/leads/export/?format=csv")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["name"]
