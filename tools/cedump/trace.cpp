// cedump trace: TraceRead records split and formatted as strace-like lines.
#include <time.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/errors.h"
#include "tools/cedump/render.h"

namespace cek::cedump {

bool decode_trace(std::span<const std::byte> data, uint32_t count, std::vector<TraceLine>& out) {
    for (uint32_t i = 0; i < count; ++i) {
        TraceLine line;
        if (data.size() < sizeof line.record) return false;
        std::memcpy(&line.record, data.data(), sizeof line.record);
        data = data.subspan(sizeof line.record);
        size_t a = line.record.args_bytes, r = line.record.result_bytes;
        if (data.size() < a + r) return false;
        line.args.assign(reinterpret_cast<const char*>(data.data()), a);
        line.result.assign(reinterpret_cast<const char*>(data.data()) + a, r);
        data = data.subspan(a + r);
        out.push_back(std::move(line));
    }
    return true;
}

std::string format_trace(const TraceLine& line) {
    const auto& r = line.record;
    char when[48];
    time_t t = static_cast<time_t>(r.time_ns / 1'000'000'000ULL);
    tm local{};
    localtime_r(&t, &local);
    size_t n = std::strftime(when, sizeof when, "%H:%M:%S", &local);
    std::snprintf(when + n, sizeof when - n, ".%06llu",
                  static_cast<unsigned long long>((r.time_ns % 1'000'000'000ULL) / 1000));
    auto code = static_cast<proto::RequestCode>(r.code);
    std::string out = std::string(when) + " pid " + std::to_string(r.pid) + " tid " +
                      std::to_string(r.thread_id) + " " + proto::request_name(code) + "(" +
                      line.args + ") = ";
    std::string error = std::string(error_name(static_cast<Win32Error>(r.error))) + "(" +
                        std::to_string(r.error) + ")";
    if (r.failed != 0)
        out += "FAILED" + (r.set_error != 0 ? " " + error : std::string(" (last error kept)"));
    else
        out += (line.result.empty() ? "TRUE" : line.result) +
               (r.set_error != 0 ? " [last error " + error + "]" : "");
    char took[32];
    std::snprintf(took, sizeof took, " <%.1f us>", r.duration_ns / 1000.0);
    return out + took;
}

}  // namespace cek::cedump
