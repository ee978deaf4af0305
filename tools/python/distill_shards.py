"""Reader of Distillery tile shard datasets (format v1) for numpy users.

Written from the format specification alone: docs/formats/tile-shards.md. Needs numpy and zstandard
(``pip install numpy zstandard``).

    import distill_shards as ds
    data = ds.Dataset("DIR")                  # checks index.json and the files
    for pixels, meta in data:                 # pixels: np.ndarray (height, width, 3) uint8
        print(meta["slide_id"], meta["x"], meta["y"], meta["mpp"], meta["tissue_fraction"])
    pixels, meta = data.tile(1234)            # random access by global tile index
    problems = data.verify()                  # [] when every checksum matches

Errors are ``ShardError`` with the file (and tile) named, e.g.
``shard-000003.dts: tile 17: pixel checksum mismatch``.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Iterator

import numpy as np
import zstandard

__all__ = ["ShardError", "Shard", "Dataset", "FORMAT_VERSION"]

FORMAT_VERSION = 1
INDEX_FORMAT = "distill-tile-shards"
HEADER_MAGIC = b"\x89DTS\r\n\x1a\n"
TRAILER_MAGIC = b"\x89DTE\r\n\x1a\n"
HEADER_SIZE = 64
TRAILER_SIZE = 32
FOOTER_HEADER_SIZE = 48
ENTRY_SIZE = 32
RECORD_SIZE = 32
DICTIONARY_MAGIC = b"\x37\xa4\x30\xec"

# Footer entry (§2.5) and tile record (§2.4), little-endian, unaligned.
ENTRY_DTYPE = np.dtype([
    ("offset", "<u8"), ("stored_size", "<u4"), ("raw_size", "<u4"), ("pixels_crc32", "<u4"),
    ("frame_crc32", "<u4"), ("record_crc32", "<u4"), ("reserved", "<u4"),
])
RECORD_DTYPE = np.dtype([
    ("slide", "<u4"), ("tissue_fraction", "<f4"), ("x", "<i8"), ("y", "<i8"), ("mpp", "<f8"),
])


class ShardError(Exception):
    """A damaged, truncated or inconsistent shard or dataset; names the file and, if any, the tile."""

    def __init__(self, path: str, message: str, tile: int | None = None):
        self.path = path
        self.tile = tile
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}: tile {self.tile}" if self.tile is not None else self.path
        return f"{where}: {self.message}"


def _u16(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 2], "little")


def _u32(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 4], "little")


def _i32(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 4], "little", signed=True)


def _u64(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 8], "little")


class Shard:
    """One shard file: random access (``tile``), iteration, ``verify``. Opening checks everything but the
    tile frames (§2.7); a truncated or never-finalised file raises ``ShardError`` at once."""

    def __init__(self, path: str):
        self.path = path
        self._file = open(path, "rb")
        try:
            self._open()
        except Exception:
            self._file.close()
            raise

    # -- opening -------------------------------------------------------------------------------------

    def _read(self, offset: int, count: int) -> bytes:
        data = os.pread(self._file.fileno(), count, offset)
        if len(data) != count:
            raise ShardError(self.path, f"unexpected end of file reading {count} bytes at {offset}")
        return data

    def _fail(self, section: str, reason: str) -> ShardError:
        return ShardError(self.path, f"{section}: {reason}")

    def _open(self) -> None:
        size = os.fstat(self._file.fileno()).st_size
        self.file_bytes = size
        head = self._read(0, min(size, HEADER_SIZE))
        checked = min(8, len(head))
        if head[:checked] != HEADER_MAGIC[:checked]:
            raise ShardError(self.path, "not a tile shard (bad header magic)")
        unfinalized = ShardError(
            self.path, f"truncated or never finalised: no valid trailer at the end of its {size} bytes")
        if size < HEADER_SIZE:
            raise unfinalized
        version = _u16(head, 8)
        if version != FORMAT_VERSION:
            if zlib.crc32(head[:60]) == _u32(head, 60):
                raise ShardError(self.path, f"unsupported shard version {version}")
            raise self._fail("header", f"checksum mismatch (version field reads {version})")
        if size < HEADER_SIZE + TRAILER_SIZE:
            raise unfinalized

        trailer = self._read(size - TRAILER_SIZE, TRAILER_SIZE)
        if trailer[24:32] != TRAILER_MAGIC:
            raise unfinalized
        if zlib.crc32(trailer[:20]) != _u32(trailer, 20):
            raise self._fail("trailer", "checksum mismatch")
        footer_offset, footer_size = _u64(trailer, 0), _u32(trailer, 8)
        tile_count, footer_crc = _u32(trailer, 12), _u32(trailer, 16)
        footer_end = size - TRAILER_SIZE
        if not (HEADER_SIZE <= footer_offset <= footer_end and footer_end - footer_offset == footer_size
                and footer_size >= FOOTER_HEADER_SIZE):
            raise self._fail("trailer", f"footer at {footer_offset} of {footer_size} bytes does not end at {footer_end}")
        footer = self._read(footer_offset, footer_size)
        if zlib.crc32(footer) != footer_crc:
            raise self._fail("footer", "checksum mismatch")

        # Header (§2.1).
        if zlib.crc32(head[:60]) != _u32(head, 60):
            raise self._fail("header", "checksum mismatch")
        if _u16(head, 10) != HEADER_SIZE:
            raise self._fail("header", f"header size {_u16(head, 10)}, expected 64")
        if head[20] != 3 or head[21] != 1 or head[22] != 1 or head[23] != 1:
            raise self._fail("header", "channels/sample type/layout/codec are not 3/uint8/interleaved/zstd")
        if _u64(head, 40) != 0:
            raise self._fail("header", f"unknown flags {_u64(head, 40)}")
        self.width, self.height = _u32(head, 12), _u32(head, 16)
        self.raw_size = self.width * self.height * 3
        if self.width < 1 or self.height < 1 or self.raw_size >= 2 ** 32:
            raise self._fail("header", f"invalid geometry {self.width}x{self.height}")
        self.zstd_level = _i32(head, 24)
        self.dictionary_id = _u32(head, 28)
        dictionary_size, dictionary_crc = _u32(head, 32), _u32(head, 36)
        if (self.dictionary_id == 0) != (dictionary_size == 0):
            raise self._fail("header", f"dictionary id {self.dictionary_id} with size {dictionary_size}")
        tiles_offset = HEADER_SIZE + dictionary_size
        if tiles_offset > footer_offset:
            raise self._fail("header", "the dictionary runs past the footer")

        # Dictionary (§2.2).
        self.dictionary: bytes | None = None
        if dictionary_size:
            dictionary = self._read(HEADER_SIZE, dictionary_size)
            if zlib.crc32(dictionary) != dictionary_crc:
                raise self._fail("dictionary", "checksum mismatch")
            if dictionary[:4] != DICTIONARY_MAGIC or _u32(dictionary, 4) != self.dictionary_id:
                raise self._fail("dictionary", f"not a zstd dictionary with id {self.dictionary_id}")
            self.dictionary = dictionary
        self._decompressor = (zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(self.dictionary))
                              if self.dictionary else zstandard.ZstdDecompressor())

        # Footer (§2.5).
        count = _u32(footer, 0)
        if count != tile_count:
            raise self._fail("footer", f"tile count {count}, trailer says {tile_count}")
        if _u32(footer, 4) != ENTRY_SIZE:
            raise self._fail("footer", f"entry size {_u32(footer, 4)}, expected 32")
        record_size = _u32(footer, 8)
        if record_size < RECORD_SIZE:
            raise self._fail("footer", f"record size {record_size} is below 32")
        if footer_size != FOOTER_HEADER_SIZE + ENTRY_SIZE * count:
            raise self._fail("footer", f"{footer_size} bytes for {count} tiles")
        slide_count = _u32(footer, 12)
        metadata_offset, slide_table_size = _u64(footer, 16), _u64(footer, 24)
        slide_table_crc, footer_tiles_offset = _u32(footer, 32), _u64(footer, 40)
        if footer_tiles_offset != tiles_offset:
            raise self._fail("footer", f"tiles start at {footer_tiles_offset}, header says {tiles_offset}")
        if not (tiles_offset <= metadata_offset <= footer_offset and 4 <= slide_table_size
                and metadata_offset + slide_table_size + record_size * count == footer_offset):
            raise self._fail("footer", "metadata does not end at the footer")
        entries = np.frombuffer(footer, dtype=ENTRY_DTYPE, count=count, offset=FOOTER_HEADER_SIZE)
        # Frames back to back from the tile region's start to the metadata, raw sizes = the geometry's.
        ends = tiles_offset + np.cumsum(entries["stored_size"].astype(np.uint64), dtype=np.uint64)
        starts = np.concatenate([np.array([tiles_offset], dtype=np.uint64), ends[:-1]]) if count else ends
        if count and (np.any(entries["offset"] != starts) or np.any(entries["stored_size"] == 0)
                      or int(ends[-1]) != metadata_offset or np.any(entries["raw_size"] != self.raw_size)):
            raise self._fail("footer", "frames are not back to back from the tile region to the metadata")
        if not count and metadata_offset != tiles_offset:
            raise self._fail("footer", "an empty shard has bytes in its tile region")
        self._entries = entries
        self.stored_bytes = metadata_offset - tiles_offset

        # Metadata (§2.4).
        table = self._read(metadata_offset, slide_table_size)
        if zlib.crc32(table) != slide_table_crc:
            raise self._fail("metadata", "slide table checksum mismatch")
        if _u32(table, 0) != slide_count:
            raise self._fail("metadata", f"slide table: {_u32(table, 0)} slides, footer says {slide_count}")
        ids, cursor = [], 4
        for index in range(slide_count):
            if cursor + 4 > len(table):
                raise self._fail("metadata", f"slide table: slide {index} runs past the table")
            length = _u32(table, cursor)
            cursor += 4
            if length > 65535 or cursor + length > len(table):
                raise self._fail("metadata", f"slide table: slide {index}: length {length} runs past the table")
            try:
                ids.append(table[cursor:cursor + length].decode("utf-8"))
            except UnicodeDecodeError:
                raise self._fail("metadata", f"slide table: slide {index} is not valid UTF-8") from None
            cursor += length
        if cursor != len(table):
            raise self._fail("metadata", f"slide table: {len(table) - cursor} bytes left after {slide_count} slides")
        self.slide_ids: list[str] = ids
        self._record_size = record_size
        self._records = self._read(metadata_offset + slide_table_size, record_size * count)

    # -- access --------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def raw_bytes(self) -> int:
        return len(self) * self.raw_size

    def _check_index(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise ShardError(self.path, f"out of range (the shard has {len(self)} tiles)", index)
        return int(index)

    def metadata(self, index: int) -> dict:
        """Tile ``index``'s metadata: slide_id, x, y (level-0 px), mpp (µm/px), tissue_fraction."""
        index = self._check_index(index)
        start = index * self._record_size
        record = self._records[start:start + self._record_size]
        if zlib.crc32(record) != int(self._entries[index]["record_crc32"]):
            raise ShardError(self.path, "metadata checksum mismatch", index)
        fields = np.frombuffer(record, dtype=RECORD_DTYPE, count=1)[0]
        slide = int(fields["slide"])
        if slide >= len(self.slide_ids):
            raise ShardError(self.path, f"invalid metadata: slide index {slide}, the shard has {len(self.slide_ids)} slides", index)
        return {
            "slide_id": self.slide_ids[slide], "x": int(fields["x"]), "y": int(fields["y"]),
            "mpp": float(fields["mpp"]), "tissue_fraction": float(fields["tissue_fraction"]),
        }

    def frame(self, index: int) -> bytes:
        """Tile ``index``'s stored zstd frame."""
        index = self._check_index(index)
        entry = self._entries[index]
        return self._read(int(entry["offset"]), int(entry["stored_size"]))

    def _decode(self, index: int, frame: bytes, checksums: bool) -> np.ndarray:
        entry = self._entries[index]
        if checksums and zlib.crc32(frame) != int(entry["frame_crc32"]):
            raise ShardError(self.path, "stored frame checksum mismatch", index)
        try:
            raw = self._decompressor.decompress(frame, max_output_size=self.raw_size)
        except zstandard.ZstdError as error:
            raise ShardError(self.path, f"zstd decode failed: {error}", index) from None
        if len(raw) != self.raw_size:
            raise ShardError(self.path, f"decoded to {len(raw)} bytes, expected {self.raw_size}", index)
        if checksums and zlib.crc32(raw) != int(entry["pixels_crc32"]):
            raise ShardError(self.path, "pixel checksum mismatch", index)
        return np.frombuffer(raw, dtype=np.uint8).reshape(self.height, self.width, 3)

    def pixels(self, index: int, checksums: bool = False) -> np.ndarray:
        """Tile ``index``'s pixels, shape (height, width, 3), uint8, read-only. zstd's content checksum is
        always checked; ``checksums=True`` also checks the frame and pixel CRC-32."""
        index = self._check_index(index)
        return self._decode(index, self.frame(index), checksums)

    def tile(self, index: int, checksums: bool = False) -> tuple[np.ndarray, dict]:
        """(pixels, metadata) of tile ``index``."""
        return self.pixels(index, checksums), self.metadata(index)

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict]]:
        for index in range(len(self)):
            yield self.tile(index)

    def verify(self) -> list[ShardError]:
        """Checks every tile (frame CRC, zstd decode, size, pixel CRC, metadata CRC); [] when intact."""
        problems = []
        for index in range(len(self)):
            try:
                self._decode(index, self.frame(index), checksums=True)
            except ShardError as error:
                problems.append(error)
            try:
                self.metadata(index)
            except ShardError as error:
                problems.append(error)
        return problems

    def file_crc32(self) -> int:
        """CRC-32 of the whole file (index.json's ``file_crc32``)."""
        crc, offset = 0, 0
        while offset < self.file_bytes:
            chunk = os.pread(self._file.fileno(), min(4 << 20, self.file_bytes - offset), offset)
            if not chunk:
                raise ShardError(self.path, "unexpected end of file")
            crc = zlib.crc32(chunk, crc)
            offset += len(chunk)
        return crc

    def source_counts(self) -> list[dict]:
        """[{"id": slide id, "tiles": n}] in order of first appearance (as index.json lists them)."""
        counts = [0] * len(self.slide_ids)
        for index in range(len(self)):
            counts[self.slide_ids.index(self.metadata(index)["slide_id"])] += 1
        return [{"id": slide, "tiles": n} for slide, n in zip(self.slide_ids, counts) if n]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Shard":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Dataset:
    """A dataset folder (§3): ``index.json`` plus the shards it lists, in its order. Opening checks the
    index and that every listed file exists with its recorded size; it never waits."""

    def __init__(self, directory: str, allow_empty: bool = False):
        self.directory = directory
        if not os.path.isdir(directory):
            raise ShardError(directory, "not a folder")
        index_path = os.path.join(directory, "index.json")
        if not os.path.exists(index_path):
            names = sorted(os.listdir(directory))
            temporary = [n for n in names if ".tmp-" in n]
            detail = f"; {len(temporary)} temporary file(s) of a writer that did not finish ({', '.join(temporary[:3])})" if temporary else ""
            raise ShardError(directory, "no index.json" + detail)
        try:
            with open(index_path, "rb") as file:
                index = json.loads(file.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ShardError(index_path, f"invalid index: {error}") from None
        if index.get("format") != INDEX_FORMAT or index.get("version") != FORMAT_VERSION:
            raise ShardError(index_path, f"invalid index: format {index.get('format')!r} version {index.get('version')!r}")
        self.index = index
        self.geometry = (index["geometry"]["height"], index["geometry"]["width"], 3)
        self.shards: list[dict] = index["shards"]
        if not self.shards and not allow_empty:
            raise ShardError(directory, "empty dataset: index.json lists no shards")
        for entry in self.shards:
            path = os.path.join(directory, entry["file"])
            if not os.path.exists(path):
                raise ShardError(path, "listed in index.json but missing")
            if os.path.getsize(path) != entry["file_bytes"]:
                raise ShardError(path, f"disagrees with index.json: {os.path.getsize(path)} bytes, index.json says {entry['file_bytes']}")
        self._starts = np.cumsum([0] + [entry["tiles"] for entry in self.shards])
        self._open: dict[int, Shard] = {}

    def __len__(self) -> int:
        return int(self._starts[-1])

    def shard(self, number: int) -> Shard:
        """Shard ``number`` (position in index.json's ``shards``), opened once and kept."""
        if number not in self._open:
            self._open[number] = Shard(os.path.join(self.directory, self.shards[number]["file"]))
        return self._open[number]

    def locate(self, index: int) -> tuple[int, int]:
        """(shard number, tile index in it) of global tile ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"tile {index} out of range (the dataset has {len(self)} tiles)")
        number = int(np.searchsorted(self._starts, index, side="right")) - 1
        return number, int(index - self._starts[number])

    def tile(self, index: int, checksums: bool = False) -> tuple[np.ndarray, dict]:
        """(pixels, metadata) of global tile ``index`` (shards in index order, then tiles in order)."""
        number, tile = self.locate(index)
        return self.shard(number).tile(tile, checksums)

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict]]:
        for number in range(len(self.shards)):
            yield from self.shard(number)

    def verify(self) -> list[str]:
        """Every problem as a line naming shard and tile (like ``distill shards verify``); [] when intact."""
        lines = []
        completed = set(self.index.get("completed_sources", []))
        for number, entry in enumerate(self.shards):
            try:
                shard = self.shard(number)
                problems = shard.verify()
                lines += [f"{entry['file']}: tile {p.tile}: {p.message}" for p in problems]
                if not problems:
                    if len(shard) != entry["tiles"]:
                        lines.append(f"{entry['file']}: disagrees with index.json: {len(shard)} tiles, index.json says {entry['tiles']}")
                    if shard.file_crc32() != entry["file_crc32"]:
                        lines.append(f"{entry['file']}: disagrees with index.json: file checksum")
                    if shard.source_counts() != entry["sources"]:
                        lines.append(f"{entry['file']}: disagrees with index.json: sources")
            except ShardError as error:
                lines.append(f"{entry['file']}: {error.message}" if error.tile is None else f"{entry['file']}: tile {error.tile}: {error.message}")
            for source in entry["sources"]:
                if source["id"] not in completed:
                    lines.append(f"{entry['file']}: holds {source['tiles']} tiles of source {source['id']!r}, which is not completed")
        return lines

    def close(self) -> None:
        for shard in self._open.values():
            shard.close()
        self._open.clear()

    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
