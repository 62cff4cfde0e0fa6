#include "coredll/client/diagnostics.h"

#include <vector>

namespace cek::coredll {

std::optional<proto::Snapshot> fetch_snapshot(Connection& kernel) {
    proto::SnapshotRequest req{};
    proto::SnapshotReply rep{};
    auto st = kernel.call(req, rep);
    if (!st.delivered || st.failed) return std::nullopt;
    std::vector<std::byte> bytes;
    bytes.reserve(rep.total_bytes);
    std::vector<std::byte> chunk(proto::kReplyBytes);
    while (bytes.size() < rep.total_bytes) {
        proto::SnapshotReadRequest rr{bytes.size()};
        proto::SnapshotReadReply rrep{};
        auto s = kernel.call(rr, rrep, {}, chunk);
        if (!s.delivered || s.failed || s.data_bytes == 0) return std::nullopt;
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + s.data_bytes);
    }
    proto::ByteReader reader(bytes.data(), bytes.size());
    proto::Snapshot snapshot;
    if (!proto::decode(reader, snapshot)) return std::nullopt;
    return snapshot;
}

}  // namespace cek::coredll
