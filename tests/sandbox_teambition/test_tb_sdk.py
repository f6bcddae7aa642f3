"""The generated ``teambition-oapi-sdk`` client, which nobody here wrote, against the sandbox.

The client ships with three defects that are worked around here, as any user must: it
needs PyJWT (installed), ``safe_chars_for_path_param`` must be set before any call with a
path parameter, and ``ignore_operation_servers=True`` keeps it off the production host.
"""

from __future__ import annotations

import pytest
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
