"""The generated ``teambition-oapi-sdk`` client, which nobody here wrote, against the sandbox.

The client ships with three defects that are worked around here, as any user must: it
needs PyJWT (installed), ``safe_chars_for_path_param`` must be set before any call with a
path parameter, and ``ignore_operation_servers=True`` keeps it off the production host.
"""

from __future__ import annotations

from importlib import metadata

import jwt as pyjwt
import pytest
from teambition_oapi_sdk import api_client as api_client_module
from teambition_oapi_sdk.api.project_api import ProjectApi
from teambition_oapi_sdk.api.task_api import TaskApi
from teambition_oapi_sdk.api_client import ApiClient
from teambition_oapi_sdk.configuration import Configuration
from teambition_oapi_sdk.exceptions import ApiException
from teambition_oapi_sdk.model.create_task_comment_v3_request import CreateTaskCommentV3Request
from teambition_oapi_sdk.model.search_project_tasks_v3_response_result_inner import (
    SearchProjectTasksV3ResponseResultInner,
)
from teambition_oapi_sdk.model.update_task_cusom_field_v3_request import (
    UpdateTaskCusomFieldV3Request,
)
from teambition_oapi_sdk.model.update_task_cusom_field_v3_request_value_inner import (
    UpdateTaskCusomFieldV3RequestValueInner,
)
from teambition_oapi_sdk.model.update_task_progress_v3_request import UpdateTaskProgressV3Request

from okrsync.sandbox.server import SandboxServer
from tests.sandbox_teambition.conftest import APP_ID, OPERATOR, PROJECT, SECRET, TENANT

# The client signs with the demo's short secret; PyJWT warns about its length.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _client(server: SandboxServer, secret: str = SECRET) -> ApiClient:
    configuration = Configuration(
        app_id=APP_ID, app_secret=secret, host=server.url, ignore_operation_servers=True
    )
    configuration.safe_chars_for_path_param = ""  # type: ignore[attr-defined]
    return ApiClient(configuration)


def test_sdk_reads_project_tasks_with_tql(server: SandboxServer) -> None:
    projects = ProjectApi(_client(server))
    tasks: list[SearchProjectTasksV3ResponseResultInner] = []
    token = None
    for _ in range(10):
        page = projects.search_project_tasks_v3(
            PROJECT,
            x_tenant_id=TENANT,
            x_operator_id=OPERATOR,
            q="tagId = 'tb-tag-okr' ORDER BY uniqueId ASC",
            page_size=3,
            page_token=token,
        )
        assert page.code == 200
        assert page.total_size == 8
        tasks.extend(page.result or [])
        token = page.next_page_token
        if not token:
            break
    assert [t.id for t in tasks] == [f"tb-task-crash-{n}" for n in range(1, 9)]
    assert sum(bool(t.is_done) for t in tasks) == 5
    assert tasks[0].story_point == "2"


def test_sdk_searches_ids_and_queries_subtasks(server: SandboxServer) -> None:
    tasks = TaskApi(_client(server))
    found = tasks.search_tasks_by_tqlv2(
        x_tenant_id=TENANT, tql="sprintId = 'tb-sprint-42' AND isDone = true", page_size=100
    )
    assert found.total_size == 4
    assert sorted(found.result or []) == [f"tb-task-sprint42-{n}" for n in range(1, 5)]
    children = tasks.query_task_v3(x_tenant_id=TENANT, parent_task_id="tb-task-onboarding")
    assert [c.story_point for c in children.result or []] == ["3", "5", "2", "", "8", "1"]


def test_sdk_reads_custom_fields_and_updates_one(server: SandboxServer) -> None:
    client = _client(server)
    fields = ProjectApi(client).search_project_custom_fileds_v3(PROJECT, x_tenant_id=TENANT)
    assert fields.total == 4
    by_name = {f.name: f for f in fields.result or []}
    status_choices = [c.value for c in by_name["OKR Status"].choices or []]
    assert status_choices == ["Not started", "On track", "At risk", "Off track", "Done", "Stale"]

    tasks = TaskApi(client)
    answer = tasks.update_task_cusom_field_v3(
        "tb-task-okr-home",
        x_tenant_id=TENANT,
        x_operator_id=OPERATOR,
        update_task_cusom_field_v3_request=UpdateTaskCusomFieldV3Request(
            customfieldId=by_name["OKR Progress"].id,
            value=[UpdateTaskCusomFieldV3RequestValueInner(id="", title="63")],
            disableActivity=False,
        ),
    )
    assert answer.code == 200 and answer.result is not None and answer.result.updated
    home = tasks.query_task_v3(x_tenant_id=TENANT, task_id="tb-task-okr-home").result or []
    values = {cf.cf_id: [v.title for v in cf.value or []] for cf in home[0].customfields or []}
    assert values == {"cf-okr-progress": ["63"]}


def test_sdk_sets_progress_and_comments(server: SandboxServer) -> None:
    tasks = TaskApi(_client(server))
    progress = tasks.update_task_progress_v3(
        "tb-task-okr-home",
        x_tenant_id=TENANT,
        x_operator_id=OPERATOR,
        update_task_progress_v3_request=UpdateTaskProgressV3Request(progress=40),
    )
    assert progress.result is not None and progress.result.progress == 40
    comment = tasks.create_task_comment_v3(
        "tb-task-okr-home",
        x_tenant_id=TENANT,
        x_operator_id=OPERATOR,
        create_task_comment_v3_request=CreateTaskCommentV3Request(content="KR at 40 %"),
    )
    assert comment.result is not None and comment.result.creator_id == OPERATOR
    assert comment.result.content is not None and comment.result.content.comment == "KR at 40 %"


def test_sdk_sees_401_for_a_wrong_secret(server: SandboxServer) -> None:
    projects = ProjectApi(_client(server, secret="not-the-secret"))
    with pytest.raises(ApiException) as failure:
        projects.query_projects_v3(x_tenant_id=TENANT)
    assert failure.value.status == 401
    assert "signature" in (failure.value.body or "")


def test_each_workaround_is_needed(server: SandboxServer) -> None:
    """Without the workarounds the client fails as documented, so the tests above
    exercise them rather than a client that happens to work as shipped."""
    # 1. PyJWT: the client signs its app token with it but does not declare it.
    declared = metadata.requires("teambition-oapi-sdk") or []
    assert not [r for r in declared if r.lower().startswith("pyjwt")]
    assert api_client_module.jwt is pyjwt
    token = api_client_module.sign_app_token(_client(server).configuration)
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["_appId"] == APP_ID
    assert claims["iat"] % 3600 == 0  # rounded down to the hour: the sandbox must accept it

    # 2. Without safe_chars_for_path_param every call with a path parameter raises.
    shipped = Configuration(
        app_id=APP_ID, app_secret=SECRET, host=server.url, ignore_operation_servers=True
    )
    with pytest.raises(AttributeError, match="safe_chars_for_path_param"):
        ProjectApi(ApiClient(shipped)).search_project_tasks_v3(PROJECT, x_tenant_id=TENANT)

    # 3. Without ignore_operation_servers each operation goes to the production host.
    # (Only the request is built here: nothing is sent.)
    production = Configuration(app_id=APP_ID, app_secret=SECRET, host=server.url)
    production.safe_chars_for_path_param = ""  # type: ignore[attr-defined]
    for configuration, host in (
        (production, "https://open.teambition.com/api"),
        (
            _client(server).configuration,
            server.url,
        ),
    ):
        method, url, *_ = ProjectApi(ApiClient(configuration))._search_project_tasks_v3_serialize(
            project_id=PROJECT,
            x_operator_id=None,
            x_tenant_id=TENANT,
            q=None,
            include_archived=None,
            page_token=None,
            page_size=None,
            _request_auth=None,
            _content_type=None,
            _headers=None,
            _host_index=0,
        )
        assert (method, url) == ("GET", f"{host}/v3/project/{PROJECT}/task/query")
    assert server.log.entries() == []
