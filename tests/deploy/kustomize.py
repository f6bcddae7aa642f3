"""A small renderer of the kustomize features deploy/kubernetes uses, for the tests.

No ``kustomize`` or ``kubectl`` runs here, so the tests render the base and overlays
themselves with exactly these features of a Kustomization, and refuse any other key:

- ``resources``: files (YAML documents) and directories holding a kustomization.yaml;
- ``configMapGenerator`` (``files``, ``literals``) with
  ``generatorOptions.disableNameSuffixHash: true`` (the only form supported);
- ``patches`` given by ``path``: strategic-merge patches, matched to a resource by
  ``apiVersion``, ``kind`` and ``metadata.name``. Maps merge key by key; lists of maps
  whose items all have a ``name`` merge item by item (containers, env, volumes, ports);
  other lists are replaced; a null value deletes the key;
- ``labels`` (``pairs``, with ``includeSelectors`` and ``includeTemplates`` false: the
  labels go into every resource's ``metadata.labels`` only);
- ``namespace``: set on every namespaced resource;
- ``images``: ``name`` -> ``newName``, ``newTag`` on every container's image.

Users render with ``kubectl kustomize deploy/kubernetes/overlays/daemon``; this module
gives the same documents for these features.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KNOWN = {
    "apiVersion",
    "kind",
    "resources",
    "configMapGenerator",
    "generatorOptions",
    "patches",
    "labels",
    "namespace",
    "images",
}
#: Kinds without a namespace (only those that could appear here).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class Unsupported(Exception):
    """The kustomization uses a feature this renderer does not implement."""


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of ``path`` (empty ones left out)."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources the kustomization in ``directory`` produces."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text("utf-8"))
    unknown = set(kustomization) - KNOWN
    if unknown:
        raise Unsupported(f"{directory}: {sorted(unknown)}")
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise Unsupported(f"{directory}: kind {kustomization['kind']}")

    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        resources += render(target) if target.is_dir() else load_documents(target)

    generators = kustomization.get("configMapGenerator", [])
    options = kustomization.get("generatorOptions", {})
    if generators and options != {"disableNameSuffixHash": True}:
        raise Unsupported(f"{directory}: generatorOptions {options} (hash suffixes)")
    for generator in generators:
        if set(generator) - {"name", "files", "literals"}:
            raise Unsupported(f"{directory}: configMapGenerator keys {sorted(generator)}")
        data: dict[str, str] = {}
        for item in generator.get("files", []):
            key, _, source = item.rpartition("=")
            file = directory / source
            data[key or file.name] = file.read_text(encoding="utf-8")
        for item in generator.get("literals", []):
            key, _, value = item.partition("=")
            data[key] = value
        resources.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )

    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise Unsupported(f"{directory}: patch {patch} (only path: strategic merge)")
        for document in load_documents(directory / patch["path"]):
            (target,) = [r for r in resources if _identity(r) == _identity(document)]
            merged = strategic_merge(target, document)
            target.clear()
            target.update(merged)

    for labels in kustomization.get("labels", []):
        if labels.get("includeSelectors") or labels.get("includeTemplates"):
            raise Unsupported(f"{directory}: labels into selectors or templates")
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(labels["pairs"])

    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace

    for image in kustomization.get("images", []):
        if set(image) - {"name", "newName", "newTag"}:
            raise Unsupported(f"{directory}: images keys {sorted(image)}")
        for container in all_containers(resources):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                name = image.get("newName", name)
                tag = image.get("newTag", tag)
                container["image"] = f"{name}:{tag}" if tag else name
    return resources


def _identity(resource: dict[str, Any]) -> tuple[str, str, str]:
    return (resource["apiVersion"], resource["kind"], resource["metadata"]["name"])


def strategic_merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into a copy of ``base`` (see the module docstring for the rules)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        merged_list = copy.deepcopy(base)
        for item in patch:
            matches = [i for i, old in enumerate(merged_list) if old["name"] == item["name"]]
            if matches:
                merged_list[matches[0]] = strategic_merge(merged_list[matches[0]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a workload (Deployment, StatefulSet, Job, CronJob, Pod), else None."""
    kind = resource["kind"]
    if kind == "Pod":
        return dict(resource["spec"])
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return dict(resource["spec"]["template"]["spec"])
    if kind == "CronJob":
        return dict(resource["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return None


def all_containers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container and init container of every workload, as the live objects."""
    found: list[dict[str, Any]] = []
    for resource in resources:
        spec = pod_spec(resource)
        if spec is not None:
            found += spec.get("initContainers", []) + spec.get("containers", [])
    return found
