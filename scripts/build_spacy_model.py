"""Build the project's own spaCy pipeline and save it to a directory.

No pretrained spaCy model can be downloaded on the machines this runs on, so the
pipeline is a blank English tokenizer plus rule components:

* ``sentencizer`` - clause and sentence boundaries for the red-flag detector;
* ``entity_ruler`` - the clinic's lexicon (``content/lexicon.yml``): lay words for
  exercises, treatments, body parts and ordinals, each pattern carrying the canonical
  value as its ``id``.

Rasa loads the result by path (``SpacyNLP`` with ``model: models/spacy``).

Usage: python scripts/build_spacy_model.py [--lexicon content/lexicon.yml] [--out models/spacy]
"""

import argparse
import hashlib
import sys
from pathlib import Path

import spacy
import yaml

ROOT = Path(__file__).resolve().parent.parent


def lexicon_patterns(lexicon: dict) -> list:
    """Entity-ruler patterns (token-wise, lower-cased) from the lexicon YAML."""
    nlp = spacy.blank("en")
    patterns = []
    for label, values in (lexicon.get("entities") or {}).items():
        for value, phrases in (values or {}).items():
            for phrase in phrases or []:
                tokens = [t.lower_ for t in nlp.make_doc(str(phrase))]
                if tokens:
                    patterns.append(
                        {
                            "label": str(label),
                            "id": str(value),
                            "pattern": [{"LOWER": t} for t in tokens],
                        }
                    )
    return patterns


def build(lexicon_path: Path, out: Path) -> Path:
    lexicon = yaml.safe_load(lexicon_path.read_text(encoding="utf-8")) or {}
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(lexicon_patterns(lexicon))
    nlp.meta["name"] = "gluteus_assistant"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Blank English + sentencizer + clinic lexicon entity ruler"
    out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    digest = hashlib.sha256(lexicon_path.read_bytes()).hexdigest()
    (out / "lexicon.sha256").write_text(digest + "\n")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexicon", default=str(ROOT / "content" / "lexicon.yml"))
    parser.add_argument("--out", default=str(ROOT / "models" / "spacy"))
    args = parser.parse_args(argv)
    out = build(Path(args.lexicon), Path(args.out))
    print(f"spaCy pipeline written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
