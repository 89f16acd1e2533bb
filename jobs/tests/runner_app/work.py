import os
import time
from pathlib import Path


def hold():
    """A slow job the tests steer with files in BYLINE_JOBS_TEST_DIR: while a file "hold" is there, each run
    leaves a file "started-N" and works until the file goes away, then leaves "finished"."""
    folder = Path(os.environ.get("BYLINE_JOBS_TEST_DIR", "/nonexistent"))
    if not (folder / "hold").exists():
        return
    (folder / f"started-{len(list(folder.glob('started-*'))) + 1}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 120
    while (folder / "hold").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("nobody took the hold file away")
        time.sleep(0.05)
    (folder / "finished").write_text(str(os.getpid()))
