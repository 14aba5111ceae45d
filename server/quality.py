"""What a generated version's back rests on (issue 19 item 4: "say when it is guessed").

One picture shows one side. Whatever a single-view mode builds behind it (inflate's flatter dome with the front's
colours continued, revolve's mirror, extrude's slab, a model's completion) is inferred, not seen. The worker says
so in a "quality" event and the version records it in `parameters.quality`:
{"back": "inferred" | "seen" | "plate", "confidence": auto's confidence in the mode (1.0 when requested),
 "source": what the shape was read from, "notes": [sentences]}. The `real-back` validation profile
(`generate --require-real-back`) fails a version whose back was inferred.
"""

from __future__ import annotations

BACK_YAWS = (120.0, 240.0)  # a view whose camera yaw lies in this range (degrees) shows the back

MODE_BACK = {
    "inflate": "a rounded completion with a flatter back; its texture continues the front's colours without "
               "repeating its features",
    "revolve": "the front turned about the vertical axis (a body of revolution), its texture mirrored",
    "extrude": "the outline pushed straight back (a slab), the front's colours on the back",
    "voxel": "the pixel art pushed straight back, the front's colours on the back",
}


def _shows_back(label: str) -> bool:
    label = label.strip().lower()
    if label == "back":
        return True
    try:
        yaw = float(label) % 360.0
    except ValueError:
        return False
    return BACK_YAWS[0] <= yaw <= BACK_YAWS[1]


def describe(mode: str, confidence: float, views: tuple[str, ...] = (), depth: bool = False,
             backend: str = "", mirrored: str = "") -> tuple[str, dict]:
    """(note for the "quality" event, the record for parameters.quality) of a generate job.

    mode: the mode used (or the backend's); views: labels of the extra views; depth: an aligned depth map was
    sent; backend: a learned backend's name ("" or "classical": none); mirrored: reconstruct.texture.front_only's
    sentence when the back tile was dropped for a low face budget."""
    conf = round(float(confidence), 2)
    if mode == "relief":
        note = "relief: a plate whose back is flat by design (nothing was guessed about a hidden side)"
        return note, {"back": "plate", "confidence": conf, "source": "one picture", "notes": [note]}
    if views:
        source = f"{len(views) + 1} pictures"
        if any(_shows_back(v) for v in views):
            note = f"the back was seen ({source}, one of them from behind)"
            return note, {"back": "seen", "confidence": conf, "source": source, "notes": [note]}
        notes = [f"the back was inferred: none of the {source} shows it (add --view back=IMAGE)"]
    else:
        source = "one picture and a depth map" if depth else "one picture"
        how = MODE_BACK.get(mode, "completed by the model from the front")
        learned = f" by the {backend} backend" if backend and backend != "classical" else ""
        notes = [f"the back was inferred from {source}{learned}, not seen: {how}"]
        if depth:
            notes.append("the depth map gives the front surface only")
        if mirrored:
            notes[0] = notes[0].split(": ")[0] + ": " + MODE_BACK.get(mode, "").split(";")[0]
            notes.insert(1, mirrored)
    if conf < 0.75:
        notes.append(f"auto was unsure of the mode (confidence {conf:.2f}): try --mode to compare")
    notes.append("for a print that must not guess, send a view of the back or use --require-real-back")
    note = "; ".join(notes[:2]) + f" (confidence {conf:.2f})"
    return note, {"back": "inferred", "confidence": conf, "source": source, "notes": notes}
