#!/usr/bin/env python3
"""Serves one MP4 file (H.264 or H.265) over RTSP on 127.0.0.1, without re-encoding, as a camera would: for tests
and benchmarks.

    scripts/rtsp-server.py --file clip.mp4 [--port 8554] [--path /stream] [--codec auto|h264|h265]
                           [--no-loop] [--user U --password P]

GStreamer's RTSP server (Debian: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,bad}; see
scripts/deps.sh). Each client gets its own live stream from the start of the file, like a camera starting a
session: a reader pipeline (filesrc ! qtdemux ! h26Xparse ! appsink) demuxes the video track (audio is ignored)
and a thread feeds its frames, timestamps shifted onto one continuous timeline, to the served pipeline
(appsrc is-live ! h26Xparse ! rtph26Xpay), whose sinks pace them in real time. At the end of the file the reader
starts again and the timeline goes on (RTP timestamps keep increasing), forever unless --no-loop is given (then
the stream ends). Nothing is decoded or re-encoded, and the served pipeline is never seeked (seeking it races
with the server's PLAY handling). With --user/--password the server requires Basic authentication.

Prints one line `READY rtsp://127.0.0.1:PORT/PATH codec=CODEC` on stdout once it listens (--port 0 picks a free
port) and runs until SIGTERM/SIGINT. Exit status 2 for bad arguments or an unreadable file, 3 when it cannot
listen, 4 when python3-gi is missing.
"""

import argparse
import os
import signal
import sys
import threading

try:
    import gi
except ImportError:
    # pyenv or a virtual environment may shadow Debian's python3, which has python3-gi.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.stderr.write("rtsp-server: python3-gi is missing (scripts/deps.sh installs it)\n")
    sys.exit(4)

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import GLib, Gst, GstApp, GstPbutils, GstRtspServer  # noqa: E402,F401

NONE = Gst.CLOCK_TIME_NONE


def detect_codec(path):
    """Returns 'h264' or 'h265' for the first video stream of `path`."""
    disc = GstPbutils.Discoverer.new(10 * Gst.SECOND)
    info = disc.discover_uri(Gst.filename_to_uri(path))
    for s in info.get_video_streams():
        name = s.get_caps().get_structure(0).get_name()
        if name == "video/x-h264":
            return "h264"
        if name == "video/x-h265":
            return "h265"
        raise ValueError(f"unsupported video codec {name} (only H.264 and H.265 are served without re-encoding)")
    raise ValueError("no video stream")


def quoted(path):
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Reader:
    """The file's video frames, demuxed and parsed, in decode order, looping on one timeline (nanoseconds)."""

    def __init__(self, path, codec, loop):
        self.loop = loop
        self.pipeline = Gst.parse_launch(
            f"filesrc location={quoted(path)} ! qtdemux name=d d.video_0 ! {codec}parse "
            "! appsink name=sink sync=false max-buffers=16 enable-last-sample=false"
        )
        self.sink = self.pipeline.get_by_name("sink")
        self.offset = 0  # added to this pass's timestamps
        self.first = None  # this pass's first pts
        self.end = 0  # end (pts + duration) of the latest-ending frame so far, on the output timeline
        self.step = Gst.SECOND // 25  # a frame's duration when the file does not say
        self.pipeline.set_state(Gst.State.PLAYING)

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)

    def next(self):
        """(caps, buffer) of the next frame, or None at the end of a file that does not loop."""
        sample = self.sink.try_pull_sample(10 * Gst.SECOND)
        if sample is None:
            if not self.sink.is_eos():
                raise RuntimeError("reading the file timed out")
            if not self.loop:
                return None
            # Next pass: the reader pipeline is ours alone, so a flushing seek is safe here.
            self.offset, self.first = self.end, None
            self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
            sample = self.sink.try_pull_sample(10 * Gst.SECOND)
            if sample is None:
                raise RuntimeError("the file has no frames after a rewind")
        src = sample.get_buffer()
        buf = src.copy_deep()  # its own metadata: the timestamps change
        pts = src.pts if src.pts != NONE else src.dts
        if pts == NONE:
            pts = self.end - self.offset + (self.first or 0)
        if self.first is None:
            self.first = pts
        shift = self.offset - self.first
        buf.pts = max(0, pts + shift)
        buf.dts = NONE if src.dts == NONE else max(0, src.dts + shift)
        if src.duration != NONE and src.duration > 0:
            self.step = src.duration
        self.end = max(self.end, buf.pts + self.step)
        return sample.get_caps(), buf


class Feeder(threading.Thread):
    """Pushes the reader's frames into the served pipeline's appsrc; `block=true` holds it back while the
    pipeline's sinks pace the stream in real time."""

    def __init__(self, reader, appsrc, first):
        super().__init__(daemon=True)
        self.reader, self.appsrc, self.pending = reader, appsrc, first
        self.stopped = threading.Event()

    def run(self):
        try:
            while not self.stopped.is_set():
                item, self.pending = self.pending or self.reader.next(), None
                if item is None:
                    self.appsrc.end_of_stream()
                    return
                if self.appsrc.push_buffer(item[1]) != Gst.FlowReturn.OK:
                    return  # the client went away: the pipeline is shutting down
        except Exception as e:  # noqa: BLE001 - a feeder dies alone; the client sees the stream end
            sys.stderr.write(f"rtsp-server: feeding the stream failed: {e}\n")
        finally:
            self.reader.stop()

    def stop(self):
        self.stopped.set()


class FileFactory(GstRtspServer.RTSPMediaFactory):
    """One live media per client, fed from the file by a Reader and a Feeder."""

    def __init__(self, path, codec, loop):
        super().__init__()
        self.path, self.codec, self.loop = path, codec, loop
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false block=true max-bytes=4000000 "
            f"! {codec}parse config-interval=-1 ! rtp{codec}pay name=pay0 pt=96 config-interval=-1 )"
        )
        self.set_shared(False)
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        appsrc = media.get_element().get_by_name("src")
        reader = Reader(self.path, self.codec, self.loop)
        try:
            first = reader.next()
        except Exception as e:  # noqa: BLE001
            sys.stderr.write(f"rtsp-server: {self.path}: {e}\n")
            reader.stop()
            return
        if first is None:
            reader.stop()
            return
        appsrc.set_caps(first[0])  # the SDP needs the parameter sets before PLAY
        feeder = Feeder(reader, appsrc, first)
        media.connect("unprepared", lambda _m: feeder.stop())
        feeder.start()


def main():
    ap = argparse.ArgumentParser(description="Serve an MP4 over RTSP without re-encoding (tests, benchmarks).")
    ap.add_argument("--file", required=True)
    ap.add_argument("--port", type=int, default=8554, help="TCP port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--path", default="/stream", help="mount path, e.g. /cam1")
    ap.add_argument("--codec", default="auto", choices=["auto", "h264", "h265"])
    ap.add_argument("--no-loop", action="store_true", help="end the stream at the end of the file")
    ap.add_argument("--user", help="require Basic authentication with this user")
    ap.add_argument("--password", help="password for --user")
    args = ap.parse_args()

    Gst.init(None)
    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        sys.stderr.write(f"rtsp-server: no such file: {path}\n")
        return 2
    mount = args.path if args.path.startswith("/") else "/" + args.path
    try:
        codec = detect_codec(path) if args.codec == "auto" else args.codec
    except (GLib.Error, ValueError) as e:
        sys.stderr.write(f"rtsp-server: {path}: {e}\n")
        return 2
    if (args.user is None) != (args.password is None):
        sys.stderr.write("rtsp-server: --user and --password go together\n")
        return 2

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = FileFactory(path, codec, not args.no_loop)
    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(
            Gst.Structure.new_from_string(
                "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
        )
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(mount, factory)
    try:
        attached = server.attach(None)
    except GLib.Error as e:
        sys.stderr.write(f"rtsp-server: cannot listen on 127.0.0.1:{args.port}: {e}\n")
        return 3
    port = server.get_bound_port()
    if not attached or port <= 0:
        sys.stderr.write(f"rtsp-server: cannot listen on 127.0.0.1:{args.port}\n")
        return 3

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{port}{mount} codec={codec}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
