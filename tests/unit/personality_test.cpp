// The personality seam: which personalities exist, the CE 5 and CE 6 answers the kernel's rules
// ask for, and a kernel that is asked for one that does not exist.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "kernel/kernel.h"
#include "kernel/personality/personality.h"
#include "protocol/ce_constants.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::kernel;

TEST_CASE("ce5 is the personality of CE 4 and 5, ce6 of CE 6 and 7; others are refused",
          "[unit][personality]") {
    PersonalityChoice choices[] = {choose_personality("ce5"), choose_personality(5u),
                                   choose_personality(4u)};
    for (const PersonalityChoice& choice : choices) {
        REQUIRE(choice.personality != nullptr);
        CHECK(choice.personality->name() == "ce5");
        CHECK(choice.personality->version() == 5);
        CHECK(choice.error.empty());
    }
    PersonalityChoice sixes[] = {choose_personality("ce6"), choose_personality(6u),
                                 choose_personality(7u)};
    for (const PersonalityChoice& choice : sixes) {
        REQUIRE(choice.personality != nullptr);
        CHECK(choice.personality->name() == "ce6");
        CHECK(choice.personality->version() == 6);
    }
    auto unknown = choose_personality("ce9");
    CHECK(unknown.personality == nullptr);
    CHECK(unknown.error == "unknown personality 'ce9' (known: ce5, ce6)");
    auto eight = choose_personality(8u);
    CHECK(eight.personality == nullptr);
    CHECK(eight.error.find("CE 8") != std::string::npos);

    KernelConfig config;
    config.personality = 3;
    CHECK_THROWS_AS(Kernel(config), std::invalid_argument);
}

TEST_CASE("The CE 6 answers: per-process handles, views, CreateFileForMapping, DuplicateHandle",
          "[unit][personality]") {
    auto p = choose_personality("ce6").personality;
    CHECK(p->per_process_handles());
    CHECK(p->handle_quota_error() == Win32Error::ERROR_NO_MORE_USER_HANDLES);
    CHECK(p->view_holds_handle());
    CHECK_FALSE(p->views_global());
    CHECK(p->view_rules() == ViewRules::Ce6);
    CHECK_FALSE(p->kernel_owns_mapping_files());
    CHECK(p->mapping_file_share(ce::kGenericRead, 0) == kShareRead);
    CHECK(p->mapping_file_share(ce::kGenericWrite, ce::kFileShareWriteOverride) ==
          (kShareRead | kShareWrite));
    auto plan = p->duplicate({0x00400003, 0x00410003, 0, false}, std::nullopt);
    REQUIRE(plan.ok());
    CHECK(plan.value().add_reference);
    CHECK_FALSE(plan.value().close_source);
    CHECK(p->duplicate({1, 2, ce::kDuplicateCloseSource, false}, std::nullopt)
              .value()
              .close_source);
    CHECK(p->duplicate({1, 2, 4, false}, std::nullopt).error() ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(p->duplicate({1, 2, 0, true}, std::nullopt).error() ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(p->unmap_error() == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(p->reservation_valid(0));  // the default stack
    CHECK_FALSE(p->reservation_valid(-1));
    // Only the name with ".exe": "tool.bin" is looked up as "tool.bin.exe".
    CHECK(p->image_names(u"tool.bin") == std::vector<std::u16string>{u"tool.bin.exe"});
    CHECK(p->image_names(u"\\Windows\\Run.EXE") ==
          std::vector<std::u16string>{u"\\Windows\\Run.EXE"});
}

TEST_CASE("The CE 5 answers: quota error, views, CreateFileForMapping, DuplicateHandle",
          "[unit][personality]") {
    auto p = choose_personality("ce5").personality;
    CHECK_FALSE(p->per_process_handles());
    CHECK(p->unmap_error() == Win32Error::ERROR_INVALID_ADDRESS);
    CHECK_FALSE(p->reservation_valid(0));
    CHECK(p->reservation_valid(1));
    CHECK(p->image_names(u"tool") == std::vector<std::u16string>{u"tool", u"tool.exe"});
    CHECK(p->image_names(u"tool.exe") == std::vector<std::u16string>{u"tool.exe"});
    CHECK(p->handle_quota_error() == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    CHECK(p->view_holds_handle());
    CHECK(p->view_rules() == ViewRules::Ce5);
    CHECK(p->kernel_owns_mapping_files());
    // The share argument is ignored, except FILE_SHARE_WRITE_OVERRIDE.
    CHECK(p->mapping_file_share(ce::kGenericRead, 0) == kShareRead);
    CHECK(p->mapping_file_share(ce::kGenericRead | ce::kGenericWrite, kShareRead | kShareWrite) ==
          0);
    CHECK(p->mapping_file_share(ce::kGenericWrite, ce::kFileShareWriteOverride) ==
          (kShareRead | kShareWrite));

    constexpr uint32_t kSelf = ce::kCurrentProcessHandle;
    const auto same = ce::kDuplicateSameAccess;
    auto dup = [&](DuplicateCall c, std::optional<ObjectType> held) {
        auto r = p->duplicate(c, held);
        return r ? Win32Error::ERROR_SUCCESS : r.error();
    };
    CHECK(p->duplicate({kSelf, kSelf, same, false}, ObjectType::Event).value().add_reference);
    CHECK_FALSE(
        p->duplicate({kSelf, kSelf, same | ce::kDuplicateCloseSource, false}, ObjectType::Mutex)
            .value()
            .add_reference);
    const auto bad = Win32Error::ERROR_INVALID_PARAMETER;
    CHECK(dup({kSelf, kSelf, same, false}, ObjectType::Mapping) == bad);  // not a sync object
    CHECK(dup({kSelf, kSelf, same, false}, std::nullopt) == bad);         // not held
    CHECK(dup({0x1234, kSelf, same, false}, ObjectType::Event) == bad);   // another process
    CHECK(dup({kSelf, kSelf, 0, false}, ObjectType::Event) == bad);       // no SAME_ACCESS
    CHECK(dup({kSelf, kSelf, same | 4, false}, ObjectType::Event) == bad);
    CHECK(dup({kSelf, kSelf, same, true}, ObjectType::Event) == bad);  // inheritance
}
