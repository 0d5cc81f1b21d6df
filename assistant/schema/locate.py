"""Where a YAML value sits: line numbers for the paths a schema error names.

``yaml.safe_load`` forgets where things came from, so a schema error could only say
"topics.causes.folow_ups". The composed node tree still knows, so every mapping key,
mapping value and list item is indexed here by its path (``("topics", "causes",
"folow_ups")``) and an error can point at ``content/catalogue.yml:118``.
"""

from typing import Dict, List, Sequence, Tuple, Union

import yaml

PathKey = Tuple[str, ...]


def node_lines(text: str) -> Dict[PathKey, int]:
    """1-based line of every key and list item in a YAML document, by path (parts as str).

    A mapping entry is indexed at its key's line (where a misspelt key is written).
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: Dict[PathKey, int] = {}
    if root is None:
        return lines
    stack: List[Tuple[yaml.Node, PathKey]] = [(root, ())]
    lines[()] = root.start_mark.line + 1
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = path + (str(key.value),)
                lines[child] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = path + (str(index),)
                lines[child] = item.start_mark.line + 1
                stack.append((item, child))
    return lines


def line_of(lines: Dict[PathKey, int], loc: Sequence[Union[str, int]]) -> int:
    """The line of ``loc``, or of its nearest ancestor that is in the file (0: unknown).

    A missing required key has no line of its own; its parent mapping's line is the place
    to add it.
    """
    parts = tuple(str(p) for p in loc if p != "__root__")
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return lines.get((), 0)
