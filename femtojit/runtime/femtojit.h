/*
 * femtojit.h: the native ABI (version 1) of femtojit translations and the firmware-side
 * loader/executor that runs them (femtojit.c).
 *
 * A translation is position-independent native code with no relocations. It reaches
 * everything that depends on where the firmware put things through one struct, fjit_vm_t,
 * whose address is its only argument. docs/abi.md describes the contract byte by byte;
 * femtojit/blob.py writes the blob format that fjit_blob_header_t mirrors.
 *
 * C99, freestanding: needs only <stddef.h> and <stdint.h>, no libc, no malloc.
 */
#ifndef FEMTOJIT_H
#define FEMTOJIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------ */
/* Compile-time checks (C11 _Static_assert when available, a negative array size in C99). */

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define FJIT_STATIC_ASSERT(cond, tag) _Static_assert(cond, #tag)
#else
#define FJIT_STATIC_ASSERT(cond, tag) typedef char fjit_static_assert_##tag[(cond) ? 1 : -1]
#endif

/* ------------------------------------------------------------------------------------ */
/* Versions, targets, profiles                                                           */

#define FJIT_ABI_VERSION 1u

#define FJIT_TARGET_ARMV7M       1u /* Thumb-2, AAPCS */
#define FJIT_TARGET_RV32IMC      2u /* RV32IMC, ilp32 */
#define FJIT_TARGET_XTENSA_LX106 3u /* ESP8266, call0 ABI */
#define FJIT_TARGET_XTENSA_ESP32 4u /* ESP32 (LX6), windowed ABI, entered with call8 */

/* The target this file is being compiled for (0: a host, which can check blobs but not run
 * them). fjit_container_init accepts only blobs for it. Override with -DFJIT_TARGET_NATIVE=n. */
#ifndef FJIT_TARGET_NATIVE
#if defined(__arm__) && defined(__thumb2__) && defined(__ARM_ARCH_PROFILE) && \
    __ARM_ARCH_PROFILE == 'M'
#define FJIT_TARGET_NATIVE FJIT_TARGET_ARMV7M
#elif defined(__riscv) && defined(__riscv_xlen) && __riscv_xlen == 32
#define FJIT_TARGET_NATIVE FJIT_TARGET_RV32IMC
#elif defined(__XTENSA__) && defined(__XTENSA_CALL0_ABI__)
#define FJIT_TARGET_NATIVE FJIT_TARGET_XTENSA_LX106
#elif defined(__XTENSA__) && defined(__XTENSA_WINDOWED_ABI__)
#define FJIT_TARGET_NATIVE FJIT_TARGET_XTENSA_ESP32
#else
#define FJIT_TARGET_NATIVE 0u
#endif
#endif

#define FJIT_PROFILE_FEMTO 0u
#define FJIT_PROFILE_RFC   1u

/* ------------------------------------------------------------------------------------ */
/* Status codes. 0 and the negative values down to -9 are Femto-Container's run-time codes
 * (a translated program returns one of them). The loader's own errors come from -16 down,
 * so a status always says whether the blob ran.                                          */

#define FJIT_OK                   0
#define FJIT_ILLEGAL_INSTRUCTION (-1)
#define FJIT_ILLEGAL_MEM         (-2) /* access outside the regions (or without permission) */
#define FJIT_ILLEGAL_JUMP        (-3)
#define FJIT_ILLEGAL_CALL        (-4) /* unknown helper (callx), too deep local calls;
                                         fjit_resolve_imports: an import with no helper */
#define FJIT_ILLEGAL_LEN         (-5)
#define FJIT_ILLEGAL_REGISTER    (-6)
#define FJIT_NO_RETURN           (-7)
#define FJIT_OUT_OF_BRANCHES     (-8) /* taken-branch budget exhausted */
#define FJIT_ILLEGAL_DIV         (-9) /* division or modulo by zero (femto profile) */

#define FJIT_E_ARG      (-16) /* a NULL pointer or an impossible argument */
#define FJIT_E_MAGIC    (-17) /* not a blob: the first 4 bytes are not "FJIT" */
#define FJIT_E_VERSION  (-18) /* ABI version other than FJIT_ABI_VERSION */
#define FJIT_E_TARGET   (-19) /* blob made for another target */
#define FJIT_E_HEADER   (-20) /* header_size, profile or flags this loader does not know */
#define FJIT_E_BOUNDS   (-21) /* blob shorter than its header, or a section outside the blob */
#define FJIT_E_ENTRY    (-22) /* entry offset outside the code or misaligned */
#define FJIT_E_ALIGN    (-23) /* code not 4-byte aligned (in the file or in memory) */
#define FJIT_E_CRC      (-24) /* checksum mismatch: corrupted or truncated */
#define FJIT_E_SPACE    (-25) /* data RAM, region table or helper array too small */
#define FJIT_E_OVERLAP  (-26) /* regions 0-3 overlap, or a writable region covers the vm,
                                 the region table, the helper table or the code */
#define FJIT_E_CODE     (-27) /* linked code differs from the blob's copy */

/* ------------------------------------------------------------------------------------ */
/* The blob file (little-endian; femtojit/blob.py writes it, docs/abi.md describes it).   */

#define FJIT_BLOB_MAGIC0 'F'
#define FJIT_BLOB_MAGIC1 'J'
#define FJIT_BLOB_MAGIC2 'I'
#define FJIT_BLOB_MAGIC3 'T'
#define FJIT_BLOB_HEADER_SIZE 64u
#define FJIT_BLOB_FLAG_BUDGET 1u /* taken-branch budget checks are compiled in */
#define FJIT_BLOB_KNOWN_FLAGS FJIT_BLOB_FLAG_BUDGET

typedef struct {
    uint8_t magic[4];        /*  0 "FJIT" */
    uint16_t abi_version;    /*  4 FJIT_ABI_VERSION */
    uint8_t target;          /*  6 FJIT_TARGET_* */
    uint8_t profile;         /*  7 FJIT_PROFILE_* */
    uint32_t flags;          /*  8 FJIT_BLOB_FLAG_* */
    uint32_t header_size;    /* 12 64 */
    uint32_t code_offset;    /* 16 4-byte aligned */
    uint32_t code_size;      /* 20 */
    uint32_t entry_offset;   /* 24 within the code */
    uint32_t data_offset;    /* 28 */
    uint32_t data_size;      /* 32 initial .data (.bss included), copied to RAM */
    uint32_t rodata_offset;  /* 36 */
    uint32_t rodata_size;    /* 40 read in place (may stay in flash) */
    uint32_t imports_offset; /* 44 */
    uint32_t n_imports;      /* 48 u32 helper ids, in import order */
    uint32_t frame_size;     /* 52 native stack bytes the code needs at most */
    uint32_t default_budget; /* 56 budget to use when the firmware has no better idea */
    uint32_t crc32;          /* 60 CRC-32 (zlib) of bytes [64, blob length) */
} fjit_blob_header_t;

FJIT_STATIC_ASSERT(sizeof(fjit_blob_header_t) == FJIT_BLOB_HEADER_SIZE, blob_header_size);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, abi_version) == 4, blob_abi_version);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, target) == 6, blob_target);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, profile) == 7, blob_profile);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, flags) == 8, blob_flags);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, header_size) == 12, blob_header_size_field);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, code_offset) == 16, blob_code_offset);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, code_size) == 20, blob_code_size);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, entry_offset) == 24, blob_entry_offset);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, data_offset) == 28, blob_data_offset);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, data_size) == 32, blob_data_size);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, rodata_offset) == 36, blob_rodata_offset);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, rodata_size) == 40, blob_rodata_size);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, imports_offset) == 44, blob_imports_offset);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, n_imports) == 48, blob_n_imports);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, frame_size) == 52, blob_frame_size);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, default_budget) == 56, blob_default_budget);
FJIT_STATIC_ASSERT(offsetof(fjit_blob_header_t, crc32) == 60, blob_crc32);

/* ------------------------------------------------------------------------------------ */
/* The native ABI (version 1)                                                              */

#define FJIT_REGION_READ  1u
#define FJIT_REGION_WRITE 2u
#define FJIT_REGION_RW    (FJIT_REGION_READ | FJIT_REGION_WRITE)

/* Region table order: */
#define FJIT_REGION_STACK  0u
#define FJIT_REGION_DATA   1u
#define FJIT_REGION_RODATA 2u
#define FJIT_REGION_CTX    3u
#define FJIT_FIRST_HOST_REGION 4u

#define FJIT_STACK_SIZE 512u /* the container's eBPF stack; r10 = its end at entry */

typedef struct {
    uint32_t start;
    uint32_t len;
    uint32_t flags; /* FJIT_REGION_READ | FJIT_REGION_WRITE */
} fjit_region_t;

/* A helper: args in regs[1..5] (r1-r5), returns the new r0 (zero-extended in the femto
 * profile). It may rewrite regs[1..5]; the translated code reloads r1-r5 from them. To stop
 * the run with a fault it stores a negative status into the vm (FJIT_HELPER_FAULT); the
 * translated code checks vm->status after every helper call and, if it is not FJIT_OK,
 * returns it with vm->result = r0 as it was before the call. */
typedef uint32_t (*fjit_helper_t)(void *fc, uint64_t *regs);

/* In the rfc profile the translated code takes all 64 bits of the return value (r0:r1 on Arm,
 * a0:a1 on RV32, a2:a3 on Xtensa): helpers for rfc blobs have this type, stored in the helper
 * table with FJIT_HELPER64(fn). */
typedef uint64_t (*fjit_helper64_t)(void *fc, uint64_t *regs);

/* An rfc helper as a helper table entry (through void (*)(void), so that gcc's
 * -Wcast-function-type accepts the different return type). */
#define FJIT_HELPER64(fn) ((fjit_helper_t)(void (*)(void))(fjit_helper64_t)(fn))

typedef struct fjit_vm {
    const fjit_region_t *regions; /* +0  [0] stack [1] data [2] rodata [3] ctx, then hosts */
    uint32_t n_regions;           /* +4  */
    uint32_t stack_top;           /* +8  initial r10 */
    uint32_t ctx;                 /* +12 initial r1 */
    uint32_t ctx_len;             /* +16 initial r2 (rfc profile) */
    const fjit_helper_t *helpers; /* +20 one entry per import of the blob, in import order */
    void *fc;                     /* +24 opaque, passed to every helper */
    uint32_t branches_remaining;  /* +28 taken-branch budget (unused without budget checks) */
    int32_t status;               /* +32 status on return */
    uint32_t reserved;            /* +36 */
    uint64_t result;              /* +40 r0 at exit or at the fault */
    uint64_t regs[11];            /* +48 r0..r10, stored before each helper call */
} fjit_vm_t;

/* The entry of a translation: an ordinary function of the target's C ABI. */
typedef int32_t (*fjit_entry_t)(fjit_vm_t *vm);

/* The layout is ABI only where pointers are 32 bits (every target). A 64-bit host can still
 * compile this file to check blobs and resolve imports, but cannot run translations. */
#if UINTPTR_MAX == 0xFFFFFFFFu
FJIT_STATIC_ASSERT(sizeof(fjit_region_t) == 12, region_size);
FJIT_STATIC_ASSERT(offsetof(fjit_region_t, len) == 4, region_len);
FJIT_STATIC_ASSERT(offsetof(fjit_region_t, flags) == 8, region_flags);
FJIT_STATIC_ASSERT(sizeof(fjit_helper_t) == 4, helper_pointer_size);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, regions) == 0, vm_regions);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, n_regions) == 4, vm_n_regions);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, stack_top) == 8, vm_stack_top);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, ctx) == 12, vm_ctx);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, ctx_len) == 16, vm_ctx_len);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, helpers) == 20, vm_helpers);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, fc) == 24, vm_fc);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, branches_remaining) == 28, vm_branches_remaining);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, status) == 32, vm_status);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, reserved) == 36, vm_reserved);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, result) == 40, vm_result);
FJIT_STATIC_ASSERT(offsetof(fjit_vm_t, regs) == 48, vm_regs);
FJIT_STATIC_ASSERT(sizeof(fjit_vm_t) == 136, vm_size);
#define FJIT_CAN_EXECUTE 1
#else
#define FJIT_CAN_EXECUTE 0
#endif

/* The vm a helper runs in, from the regs pointer it receives (regs == vm->regs). */
#define FJIT_VM_FROM_REGS(regs) \
    ((fjit_vm_t *)(void *)((uint8_t *)(regs) - offsetof(fjit_vm_t, regs)))

/* Inside a helper: stop the run with a fault status (negative). The helper still returns;
 * its return value is then ignored and vm->result is r0 as it was before the call. */
#define FJIT_HELPER_FAULT(regs, code) (FJIT_VM_FROM_REGS(regs)->status = (int32_t)(code))

/* ------------------------------------------------------------------------------------ */
/* Loader / executor                                                                       */

#ifndef FJIT_MAX_HOST_REGIONS
#define FJIT_MAX_HOST_REGIONS 4
#endif
#define FJIT_MAX_REGIONS (FJIT_FIRST_HOST_REGION + FJIT_MAX_HOST_REGIONS)

/* One loaded translation. Everything lives in memory the firmware provides; treat the
 * fields as private and use the functions below. */
typedef struct {
    fjit_vm_t vm;
    fjit_region_t regions[FJIT_MAX_REGIONS];
    const uint8_t *blob;
    const uint8_t *code;    /* the code that runs: the blob's copy or the linked one */
    fjit_entry_t entry;     /* code + entry_offset (| 1 on Thumb) */
    uint8_t *stack;         /* FJIT_STACK_SIZE bytes */
    uint32_t code_size;
    uint32_t n_imports;
    uint32_t frame_size;    /* native stack bytes the code needs at most, from the blob */
    uint32_t default_budget;/* from the blob */
    uint32_t blob_flags;    /* FJIT_BLOB_FLAG_* */
    uint8_t profile;        /* FJIT_PROFILE_* */
    uint8_t ready;          /* set by a successful fjit_container_init */
} fjit_container_t;

/* A firmware's helper by id, for fjit_resolve_imports. */
typedef struct {
    uint32_t id;
    fjit_helper_t fn;
} fjit_helper_entry_t;

/* Checks everything a loader can check without running the code: magic, ABI version,
 * target, header size, profile, flags, every section inside the blob, entry inside the code
 * (and aligned for the target), code 4-byte aligned in the file and in memory, CRC-32.
 * Returns FJIT_OK or an FJIT_E_* code. */
int32_t fjit_blob_check(const void *blob, size_t len, uint8_t expected_target);

/* The header fields of a blob, decoded (works on any alignment and host endianness).
 * Call it on a checked blob; on a short one it returns FJIT_E_BOUNDS. */
int32_t fjit_blob_header(const void *blob, size_t len, fjit_blob_header_t *out);

/* Number of helpers a checked blob imports (the size of the helper array it needs). */
uint32_t fjit_blob_import_count(const void *blob);

/* Fills out[i] with the helper for the blob's i-th import id, looking ids up in table[0..n).
 * out has room for out_len entries. The blob must have passed fjit_blob_check.
 * Returns FJIT_OK, FJIT_ILLEGAL_CALL if an import id is not in the table, FJIT_E_SPACE if
 * out is too short. */
int32_t fjit_resolve_imports(const void *blob, const fjit_helper_entry_t *table, size_t n,
                             fjit_helper_t *out, size_t out_len);

/* Checks the blob for this target (fjit_blob_check), copies its .data image into data_ram
 * (data_ram_len must hold it; the rest is left alone), and fills the region table:
 * [0] stack (stack: FJIT_STACK_SIZE bytes, 4-byte aligned, rw) [1] data (data_ram,
 * data_size, rw)
 * [2] rodata (inside the blob, r) [3] ctx (set by each fjit_execute_ctx).
 * helpers: one per import (may be NULL when the blob imports none). fc goes to helpers.
 * The blob must stay in place while the container is used (code and rodata run from it).
 * Returns FJIT_OK or an FJIT_E_* code; on error the container cannot be executed. */
int32_t fjit_container_init(fjit_container_t *c, const void *blob, size_t len,
                            uint8_t *data_ram, size_t data_ram_len, uint8_t *stack,
                            const fjit_helper_t *helpers, void *fc);

/* Runs the code linked into the firmware (the `elf` output format: `entry` is the function
 * symbol) instead of the blob's copy. The linked code must be byte for byte the blob's code
 * (checked: FJIT_E_CODE otherwise), so the blob's checksum covers what runs. */
int32_t fjit_container_use_entry(fjit_container_t *c, fjit_entry_t entry);

/* Adds a host region after ctx (index 4, 5, ...). Returns its index, or FJIT_E_SPACE when
 * the table is full, FJIT_E_ARG for bad flags or a region wrapping past 2^32, FJIT_E_OVERLAP
 * if it is writable and covers the vm, region table, helper table or code. */
int32_t fjit_add_region(fjit_container_t *c, const void *start, size_t len, uint32_t flags);

/* Runs the container like Femto-Container's f12r_execute_ctx: r1 = ctx, r2 = ctx_len (rfc),
 * r10 = end of the (zeroed) stack, budget = taken branches allowed (ignored if the blob has
 * no budget checks; fjit_container_default_budget() gives the blob's). .data keeps what
 * earlier runs wrote. Writes r0 at exit or at the fault to *result (if not NULL) and
 * returns the status: FJIT_OK, a negative run-time status, or an FJIT_E_* code if it could
 * not start (ctx overlapping another region or the container, container not initialised). */
int32_t fjit_execute_ctx(fjit_container_t *c, void *ctx, size_t ctx_len,
                         uint32_t branch_budget, int64_t *result);

/* The blob's default budget (blob header default_budget). */
uint32_t fjit_container_default_budget(const fjit_container_t *c);

/* For helpers: FJIT_OK if [addr, addr+len) lies inside one region with the permission
 * `perm` (FJIT_REGION_READ / WRITE), with the translated code's rule (regions tried in
 * order, the first holding all the bytes decides), else FJIT_ILLEGAL_MEM. */
int32_t fjit_vm_check_access(const fjit_vm_t *vm, uint32_t addr, uint32_t len, uint32_t perm);

/* CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320). */
uint32_t fjit_crc32(const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* FEMTOJIT_H */
