// Processes through cek::kernel::Kernel with fake processes and a fake launcher: the process
// object (its id is its handle value), CreateProcessW's CE 5 order of checks and image search,
// the creator's wait until the program attaches, exit codes, OpenProcess, TerminateProcess.
// Rules: ce-kernel-objects.md §1; docs/semantics/processes.md.
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "kernel/core/image.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using kernel::CreateProcessArgs;
using kernel::LaunchSpec;
using kernel::ThreadRef;

namespace {

constexpr uint32_t kCurrentProcess = ce::kCurrentProcessHandle;

// A file system whose \Windows holds `name` copied from a host program, a launcher that starts
// nothing (it records what it was asked and hands out pids), and a killer that records.
struct ProcessScene : FileScene {
    explicit ProcessScene(KernelConfig c = config()) : FileScene(c) {
        std::filesystem::create_directories(host("Windows"));
        k.set_launcher([this](const LaunchSpec& spec) -> Result<kernel::Launched> {
            launched.push_back(spec);
            if (launch_error) return *launch_error;
            return kernel::Launched{next_child_pid++, static_cast<uint32_t>(900 + launched.size())};
        });
        k.set_killer([this](ProcessId id) {
            killed.push_back(id);
            return kill_works;
        });
    }
    // Host programs to copy: one that needs libcoredll (a CE program) and one that does not.
    static std::filesystem::path ce_program() { return std::getenv("CEK_CE_PROGRAM"); }
    static std::filesystem::path host_program() { return "/bin/true"; }
    void install(const std::string& rel, const std::filesystem::path& from) {
        std::filesystem::copy_file(from, host(rel),
                                   std::filesystem::copy_options::overwrite_existing);
    }
    std::optional<Result<kernel::ProcessCreated>> create(ProcessId p,
                                                         std::optional<std::u16string> image,
                                                         std::u16string line = u"",
                                                         uint32_t flags = 0, uint64_t tag = 1) {
        CreateProcessArgs a;
        a.image = std::move(image);
        a.command_line = std::move(line);
        a.flags = flags;
        return k.create_process(ThreadRef{p, 1}, a, tag);
    }
    Win32Error refused(ProcessId p, const CreateProcessArgs& a) {
        auto r = k.create_process(ThreadRef{p, 1}, a, 1);
        REQUIRE(r.has_value());
        return error_of(*r);
    }
    // The creator's call, completed: its result.
    std::optional<kernel::WaitCompletion> completion(uint64_t tag) {
        for (auto& c : k.take_completions())
            if (c.tag == tag && c.code == proto::RequestCode::ProcessCreate) return c;
        return std::nullopt;
    }
    uint32_t exit_code(ProcessId p, HandleValue h) {
        auto r = k.process_exit_code(p, h);
        REQUIRE(r.ok());
        return r.value();
    }

    std::vector<LaunchSpec> launched;
    std::vector<ProcessId> killed;
    std::optional<Win32Error> launch_error;
    bool kill_works = true;
    int next_child_pid = 5000;
};

}  // namespace

TEST_CASE("A process's id is its handle value, global, and GetCurrentProcess() names it",
          "[unit][process][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    const HandleValue ha = s.k.process_handle(a);
    REQUIRE(ha.raw != 0);
    CHECK(s.k.process_handle(b) != ha);
    // b may name a by its id: wait on it, read its code, open it.
    CHECK(s.k.process_exit_code(b, ha).value() == ce::kStillActive);
    CHECK(s.k.process_exit_code(a, HandleValue{kCurrentProcess}).value() == ce::kStillActive);
    auto opened = s.k.open_process(b, ha.raw, false);
    REQUIRE(opened.ok());
    CHECK(opened.value() == ha);
    // OpenProcess: fInherit, or an id that is no process, is ERROR_INVALID_PARAMETER.
    CHECK(error_of(s.k.open_process(b, ha.raw, true)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.open_process(b, 0x1234, false)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.open_process(b, kCurrentProcess, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.process_exit_code(b, HandleValue{0x1236})) ==
          Win32Error::ERROR_INVALID_HANDLE);
    // a ends (the code it told first wins); b's reference keeps the code readable.
    s.k.exit_process(a, 0xDEADBEEF);
    s.k.exit_process(a, 1);
    s.k.detach_process(a);
    CHECK(s.k.process_exit_code(b, ha).value() == 0xDEADBEEF);
    REQUIRE(s.k.close_handle(b, ha).ok());
    CHECK(error_of(s.k.process_exit_code(b, ha)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A wait on a process completes when it ends, beside other objects",
          "[unit][process][ce5]") {
    WaitScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    LastError le;
    auto event = s.k.create_event(b, true, false, nullptr, le);
    REQUIRE(event.ok());
    const HandleValue ha = s.k.process_handle(a);
    REQUIRE(s.k.open_process(b, ha.raw, false).ok());
    uint64_t tag = s.wait_pending({b, 7}, {event.value(), ha});
    s.k.detach_process(a);  // killed: nothing told, code 0
    CHECK(s.completed(tag, kWaitObject0 + 1));
    CHECK(s.wait_now({b, 7}, {ha}) == kWaitObject0);
    CHECK(s.k.process_exit_code(b, ha).value() == 0);
}

TEST_CASE("TerminateProcess: the code, a kill, CE 5's refusals", "[unit][process][ce5]") {
    ProcessScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    const HandleValue hb = s.k.process_handle(b);
    // On the caller itself: FALSE with ERROR_ACCESS_DENIED, and the code is kept for its end.
    CHECK(error_of(s.k.terminate_process(a, HandleValue{kCurrentProcess}, 5)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(s.k.terminate_process(a, hb, 77).ok());
    REQUIRE(s.killed.size() == 1);
    CHECK(s.killed[0] == b);
    // Already exiting: refused.
    CHECK(error_of(s.k.terminate_process(a, hb, 78)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(error_of(s.k.terminate_process(a, HandleValue{0x1236}, 1)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    REQUIRE(s.k.open_process(a, hb.raw, false).ok());
    s.k.detach_process(b);
    CHECK(s.exit_code(a, hb) == 77);
    s.k.detach_process(a);
    // A process the kernel cannot kill (another PID namespace): ERROR_ACCESS_DENIED.
    auto c = s.attach();
    auto d = s.attach();
    s.kill_works = false;
    CHECK(error_of(s.k.terminate_process(c, s.k.process_handle(d), 1)) ==
          Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("CreateProcessW checks its arguments in CE 5's order", "[unit][process][ce5]") {
    ProcessScene s(config_of(5));
    auto a = s.attach();
    s.install("Windows/tool.exe", ProcessScene::host_program());
    CreateProcessArgs ok;
    ok.image = u"tool";
    auto with = [&](auto change) {
        CreateProcessArgs x = ok;
        change(x);
        return s.refused(a, x);
    };
    using A = CreateProcessArgs&;
    CHECK(with([](A x) { x.image.reset(); }) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(with([](A x) { x.inherit_handles = true; }) == Win32Error::ERROR_INVALID_PARAMETER);
    for (uint32_t bad : {0x8u, 0x40u, 0x08000000u, 0x100u})
        CHECK(with([&](A x) { x.flags = bad; }) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(with([](A x) { x.environment = true; }) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(with([](A x) { x.current_dir = true; }) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(with([](A x) { x.image = std::u16string(260, u'a'); }) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // The arguments come before the image: a missing image with a bad flag is the flag's error.
    CHECK(with([](A x) {
              x.image = u"missing";
              x.flags = 0x8;
          }) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(with([](A x) { x.image = std::u16string(259, u'a'); }) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(s.launched.empty());
    // Every allowed flag passes (CREATE_SUSPENDED and the debug bits among them).
    for (uint32_t good : {0x1u, 0x2u, 0x4u, 0x10u, 0x20000u, 0x80000000u}) {
        auto r = s.create(a, u"tool", u"", good);
        REQUIRE(r.has_value());
        CHECK(r->ok());
    }
}

TEST_CASE("CreateProcessW finds the image as CE 5 searches, and refuses what is no program",
          "[unit][process][ce5]") {
    ProcessScene s(config_of(5));
    auto a = s.attach();
    s.install("Windows/tool.exe", ProcessScene::host_program());
    s.install("rooted.exe", ProcessScene::host_program());
    std::filesystem::create_directories(s.host("Apps"));
    s.install("Apps/far.exe", ProcessScene::host_program());
    s.write_host("Windows/text.exe", "just text\n");
    s.write_host("Windows/script", "#!/bin/sh -e\nexit 3\n");
    auto image_of = [&](const std::u16string& name) -> std::string {
        auto r = s.create(a, name);
        REQUIRE(r.has_value());
        if (!r->ok()) return "error " + std::to_string(to_u32(r->error()));
        return s.launched.back().argv.back();
    };
    // \Windows first, with ".exe" added; then the root; an absolute name as given.
    CHECK(image_of(u"tool").ends_with("/Windows/tool.exe"));
    CHECK(image_of(u"TOOL.EXE").ends_with("/Windows/tool.exe"));
    CHECK(image_of(u"rooted").ends_with("/rooted.exe"));
    CHECK(image_of(u"\\Windows\\tool.exe").ends_with("/Windows/tool.exe"));
    CHECK(image_of(u"\\tool.exe") == "error 2");
    CHECK(image_of(u"far") == "error 2");
    // HKLM\Loader\SystemPath, a multi-string, is searched last.
    auto loader = s.k.reg_create_key(a, 0x80000002u, u"Loader", u"", 0);
    REQUIRE(loader.ok());
    const std::u16string dirs = std::u16string(u"\\Nowhere") + u'\0' + u"\\Apps" + u'\0' + u'\0';
    REQUIRE(s.k.reg_set_value(a, loader.value().hkey, u"SystemPath", 7,
                              std::as_bytes(std::span(dirs.data(), dirs.size())))
                .ok());
    CHECK(image_of(u"far").ends_with("/Apps/far.exe"));
    // Found but no program: ERROR_BAD_EXE_FORMAT. A folder is not an image.
    CHECK(image_of(u"text") == "error 193");
    // Nor is a #! line longer than Linux reads, or without its end; nor an ELF cut short.
    s.write_host("Windows/longline.exe", "#!/bin/sh " + std::string(300, 'x') + "\n");
    CHECK(image_of(u"longline") == "error 193");
    s.write_host("Windows/unended.exe", "#!/bin/sh");
    CHECK(image_of(u"unended") == "error 193");
    {
        std::ifstream in(ProcessScene::host_program(), std::ios::binary);
        std::string head(100, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        s.write_host("Windows/cut.exe", head);
    }
    CHECK(image_of(u"cut") == "error 193");
    std::filesystem::create_directories(s.host("Windows/folder.exe"));
    CHECK(image_of(u"folder") == "error 2");
    // A script runs through its interpreter, with the #! line's argument.
    auto r = s.create(a, u"\\Windows\\script", u"one \"two three\"");
    REQUIRE(r.has_value());
    REQUIRE(r->ok());
    const auto& argv = s.launched.back().argv;
    REQUIRE(argv.size() == 5);
    CHECK(argv[0] == "/bin/sh");
    CHECK(argv[1] == "-e");
    CHECK(argv[2].ends_with("/Windows/script"));
    CHECK(argv[3] == "one");
    CHECK(argv[4] == "two three");
    // The launcher's own failure is the creator's.
    s.launch_error = Win32Error::ERROR_ACCESS_DENIED;
    CHECK(image_of(u"tool") == "error 5");
}

TEST_CASE("A CE program's creator waits until it attaches; its handles are the creator's",
          "[unit][process][ce5]") {
    ProcessScene s(config_of(5));
    auto a = s.attach();
    s.install("Windows/app.exe", ProcessScene::ce_program());
    auto r = s.create(a, u"app", u"arg \"with space\"", ce::kCreateSuspended, 42);
    CHECK_FALSE(r.has_value());  // pending until the program attaches
    REQUIRE(s.launched.size() == 1);
    const LaunchSpec spec = s.launched[0];
    CHECK(spec.connect);  // the transport connects it before it runs
    CHECK(std::find(spec.env.begin(), spec.env.end(), "CEK_IMAGE=\\Windows\\app.exe") !=
          spec.env.end());
    CHECK(std::find(spec.env.begin(), spec.env.end(), "CEK_CMDLINE=arg \"with space\"") !=
          spec.env.end());
    auto child = s.k.child_by_pid(5000);
    REQUIRE(child.has_value());
    CHECK(s.completion(42) == std::nullopt);
    // The primary thread the transport hands the program: held (suspended, count 1) until the
    // creator resumes it. Its attach, or another thread's, is not the program's.
    auto state = s.k.primary_thread_state(*child);
    REQUIRE(state.ok());
    CHECK(state.value().count == 1);
    CHECK(state.value().tid == 5000);
    REQUIRE(s.k.attach_thread(ThreadRef{*child, 5000}, HandleValue{0}).ok());
    REQUIRE(s.k.attach_thread(ThreadRef{*child, 5001}, HandleValue{0}).ok());
    CHECK(s.completion(42) == std::nullopt);
    // Its shim has loaded: the creation completes, once.
    s.k.program_loaded(*child);
    auto done = s.completion(42);
    REQUIRE(done.has_value());
    CHECK_FALSE(done->failed);
    const HandleValue hp{done->process_handle};
    const HandleValue ht{done->thread_handle};
    CHECK(hp == s.k.process_handle(*child));
    CHECK(state.value().id == ht.raw);
    s.k.program_loaded(*child);
    CHECK(s.completion(42) == std::nullopt);
    // Only a started program has a primary thread to hand over.
    CHECK(s.k.primary_thread_state(a).error() == Win32Error::ERROR_INVALID_HANDLE);
    auto held = s.k.await_resume(ThreadRef{*child, 5000}, 9);
    CHECK_FALSE(held.has_value());
    auto resumed = s.k.resume_thread(ThreadRef{a, 1}, ht);  // another host process: allowed
    REQUIRE(resumed.ok());
    CHECK(resumed.value().previous == 1);
    bool released = false;
    for (const auto& c : s.k.take_completions())
        released =
            released || (c.tag == 9 && c.code == proto::RequestCode::ThreadControl && !c.failed);
    CHECK(released);
    // Once running it is an ordinary thread of another host: its own process's agent stops it.
    s.k.agent_ready(*child);  // its connection is up
    auto suspended = s.k.suspend_thread(ThreadRef{a, 1}, ht, 10);
    REQUIRE(suspended.ok());
    CHECK(suspended.value().deferred);
    // It exits through main (code told), the connection goes, then the kernel reaps it.
    s.k.exit_process(*child, 0x12345678);
    s.k.detach_process(*child);
    CHECK(s.exit_code(a, hp) == ce::kStillActive);  // not reaped yet
    CHECK(s.k.child_by_pid(5000) == child);
    s.k.child_exited(*child, W_EXITCODE(0x78, 0));
    CHECK(s.exit_code(a, hp) == 0x12345678);
    CHECK(s.k.thread_exit_code(ThreadRef{a, 1}, ht).value() == 0x12345678);
    REQUIRE(s.k.close_handle(a, hp).ok());
    REQUIRE(s.k.close_handle(a, ht).ok());
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A program that dies before it attaches fails its creator's call, and leaks nothing",
          "[unit][process][ce5]") {
    ProcessScene s(config_of(5));
    auto a = s.attach();
    s.install("Windows/app.exe", ProcessScene::ce_program());
    CHECK_FALSE(s.create(a, u"app", u"", 0, 8).has_value());
    auto child = s.k.child_by_pid(5000);
    REQUIRE(child.has_value());
    s.k.child_exited(*child, W_EXITCODE(127, 0));  // the loader found no library
    auto done = s.completion(8);
    REQUIRE(done.has_value());
    CHECK(done->failed);
    CHECK(done->error == Win32Error::ERROR_DLL_INIT_FAILED);
    CHECK(s.object_handles() == 0);
    CHECK(s.k.process_count() == 1);
}

TEST_CASE("A program that is no CE program completes at once; its status is its exit code",
          "[unit][process][ce5]") {
    ProcessScene s(config_of(5));
    auto a = s.attach();
    s.install("Windows/tool.exe", ProcessScene::host_program());
    struct Case {
        int status;
        uint32_t code;
    };
    for (Case c :
         {Case{W_EXITCODE(3, 0), 3u}, Case{SIGKILL, 128u + SIGKILL}, Case{SIGSEGV, 0xC0000005u},
          Case{SIGILL, 0xC000001Du}, Case{SIGFPE, 0xC0000094u}}) {
        auto r = s.create(a, u"tool");
        REQUIRE(r.has_value());
        REQUIRE(r->ok());
        const auto created = r->value();
        auto child = s.k.child_by_pid(s.next_child_pid - 1);
        REQUIRE(child.has_value());
        CHECK(s.exit_code(a, created.process) == ce::kStillActive);
        s.k.child_exited(*child, c.status);
        CHECK(s.exit_code(a, created.process) == c.code);
        REQUIRE(s.k.close_handle(a, created.process).ok());
        REQUIRE(s.k.close_handle(a, created.thread).ok());
    }
    CHECK(s.object_handles() == 0);
}

// Room for `slots` processes, with a launcher that starts none; returns the results of three
// CreateProcessW calls by one attached process.
std::vector<Win32Error> create_three(uint32_t personality, uint32_t slots) {
    KernelConfig small = config_of(personality);
    small.process_slots = slots;
    FileScene f(small);
    std::filesystem::create_directories(f.host("Windows"));
    std::filesystem::copy_file(ProcessScene::host_program(), f.host("Windows/tool.exe"));
    int pid = 7000;
    f.k.set_launcher([&pid](const LaunchSpec&) -> Result<kernel::Launched> {
        return kernel::Launched{pid++, static_cast<uint32_t>(pid)};
    });
    auto a = f.attach();
    CreateProcessArgs args;
    args.image = u"tool";
    std::vector<Win32Error> out;
    for (uint64_t tag = 1; tag <= 3; ++tag) {
        auto r = f.k.create_process(ThreadRef{a, 1}, args, tag);
        REQUIRE(r.has_value());  // a host program completes at once
        out.push_back(r->ok() ? Win32Error::ERROR_SUCCESS : r->error());
    }
    return out;
}

TEST_CASE("CreateProcessW makes room for CE 5's 31 processes and no more; CE 6 has no slots",
          "[unit][process][ce5][ce6]") {
    // Two slots here: the caller's and one more.
    const auto ok = Win32Error::ERROR_SUCCESS;
    CHECK(create_three(5, 2) ==
          std::vector<Win32Error>{ok, Win32Error::ERROR_OUTOFMEMORY, Win32Error::ERROR_OUTOFMEMORY});
    CHECK(create_three(6, 2) == std::vector<Win32Error>{ok, ok, ok});
}

TEST_CASE("CE command lines split into host arguments with the C runtime's rules",
          "[unit][process]") {
    using V = std::vector<std::string>;
    CHECK(kernel::split_command_line(u"") == V{});
    CHECK(kernel::split_command_line(u"  a  b\tc ") == V{"a", "b", "c"});
    CHECK(kernel::split_command_line(u"\"a b\" c") == V{"a b", "c"});
    CHECK(kernel::split_command_line(u"a\\\\\"b c\"") == V{"a\\b c"});
    CHECK(kernel::split_command_line(u"a\\\"b") == V{"a\"b"});
    CHECK(kernel::split_command_line(u"a\\b") == V{"a\\b"});
    CHECK(kernel::split_command_line(u"\"\"") == V{""});
    CHECK(kernel::split_command_line(u"\"a\"\"b\"") == V{"a\"b"});
}
