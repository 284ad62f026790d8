"""The index of a folder of videos: what is known about each file, and the runs that build it.

- ``catalog``: the SQLite catalog (files by path, videos by content hash, stage status per video);
- ``discovery``: the video files of a folder, and the ones that cannot be videos at all;
- ``runner``: one ``index`` run (identify, forget, plan, execute, record, build memories);
- ``worker``: one video in whichever process indexes it, and the typed messages it sends;
- ``executors``: serial, a pool of processes, or Ray tasks;
- ``artifacts``: reading one stage's records and the inputs of a video's memory;
- ``progress`` / ``reporter``: typed progress events and Rich bars; ``results``: what a run did;
- ``lock``: the single writer.

Most people use it through ``vidgraph.Library``.
"""
