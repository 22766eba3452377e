/*
 * femtojit.c: firmware-side loader and executor of femtojit translations (ABI version 1).
 *
 * Freestanding C99: no libc (not even memcpy/memset: gcc may turn plain copy loops into
 * calls to them, so the loops below go through volatile pointers), no malloc, no globals.
 * See femtojit.h for the API and docs/abi.md for the contract.
 */
#include "femtojit.h"

/* ------------------------------------------------------------------------------------ */
/* Small freestanding pieces                                                              */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    volatile uint8_t *d = dst;
    size_t i;
    for (i = 0; i < n; i++) {
        d[i] = src[i];
    }
}

/* Zeroes a container: 4-byte stores (it is 8-aligned, its size a multiple of 8). */
static void zero_container(fjit_container_t *c)
{
    volatile uint32_t *d = (volatile uint32_t *)(void *)c;
    size_t i;
    for (i = 0; i < sizeof(*c) / 4u; i++) {
        d[i] = 0;
    }
}

uint32_t fjit_crc32(const void *data, size_t len)
{
    /* Half-byte table: 64 bytes of constants, two lookups per byte. */
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    const uint8_t *p = (const uint8_t *)data;
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 0xFu];
        crc = (crc >> 4) ^ nibble[crc & 0xFu];
    }
    return crc ^ 0xFFFFFFFFu;
}

/* [start, start+len) as 64-bit bounds, so nothing wraps. */
static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    if (alen == 0 || blen == 0) {
        return 0;
    }
    return a < b + blen && b < a + alen;
}

FJIT_STATIC_ASSERT(FJIT_STACK_SIZE % 32u == 0, stack_size_multiple_of_32);

/* Zeroes the container's eBPF stack (4-byte aligned), eight word stores per turn. */
static void zero_stack(uint8_t *stack)
{
    volatile uint32_t *d = (volatile uint32_t *)(void *)stack;
    uint32_t i;
    for (i = 0; i < FJIT_STACK_SIZE / 4u; i += 8u) {
        d[i] = 0;
        d[i + 1u] = 0;
        d[i + 2u] = 0;
        d[i + 3u] = 0;
        d[i + 4u] = 0;
        d[i + 5u] = 0;
        d[i + 6u] = 0;
        d[i + 7u] = 0;
    }
}

static uint64_t addr_of(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ------------------------------------------------------------------------------------ */
/* Blob                                                                                   */

int32_t fjit_blob_header(const void *blob, size_t len, fjit_blob_header_t *out)
{
    const uint8_t *b = (const uint8_t *)blob;
    if (blob == NULL || out == NULL) {
        return FJIT_E_ARG;
    }
    if (len < FJIT_BLOB_HEADER_SIZE) {
        return FJIT_E_BOUNDS;
    }
    out->magic[0] = b[0];
    out->magic[1] = b[1];
    out->magic[2] = b[2];
    out->magic[3] = b[3];
    out->abi_version = (uint16_t)(b[4] | b[5] << 8);
    out->target = b[6];
    out->profile = b[7];
    out->flags = rd32(b + 8);
    out->header_size = rd32(b + 12);
    out->code_offset = rd32(b + 16);
    out->code_size = rd32(b + 20);
    out->entry_offset = rd32(b + 24);
    out->data_offset = rd32(b + 28);
    out->data_size = rd32(b + 32);
    out->rodata_offset = rd32(b + 36);
    out->rodata_size = rd32(b + 40);
    out->imports_offset = rd32(b + 44);
    out->n_imports = rd32(b + 48);
    out->frame_size = rd32(b + 52);
    out->default_budget = rd32(b + 56);
    out->crc32 = rd32(b + 60);
    return FJIT_OK;
}

/* Does [off, off+size) lie inside [header end, len)? Computed in 64 bits: no wrap-around. */
static int section_inside(uint32_t off, uint64_t size, size_t len)
{
    return off >= FJIT_BLOB_HEADER_SIZE && (uint64_t)off + size <= (uint64_t)len;
}

/* Entry alignment each target needs: 2 for Thumb and RVC, 4 for Xtensa (CALL0/CALL8
 * targets are word-aligned). */
static uint32_t entry_alignment(uint8_t target)
{
    return target == FJIT_TARGET_XTENSA_LX106 || target == FJIT_TARGET_XTENSA_ESP32 ? 4u : 2u;
}

int32_t fjit_blob_check(const void *blob, size_t len, uint8_t expected_target)
{
    const uint8_t *b = (const uint8_t *)blob;
    fjit_blob_header_t h;
    int32_t st = fjit_blob_header(blob, len, &h);
    if (st != FJIT_OK) {
        return st;
    }
    if (h.magic[0] != FJIT_BLOB_MAGIC0 || h.magic[1] != FJIT_BLOB_MAGIC1 ||
        h.magic[2] != FJIT_BLOB_MAGIC2 || h.magic[3] != FJIT_BLOB_MAGIC3) {
        return FJIT_E_MAGIC;
    }
    if (h.abi_version != FJIT_ABI_VERSION) {
        return FJIT_E_VERSION;
    }
    if (h.target != expected_target || h.target < FJIT_TARGET_ARMV7M ||
        h.target > FJIT_TARGET_XTENSA_ESP32) {
        return FJIT_E_TARGET;
    }
    if (h.header_size != FJIT_BLOB_HEADER_SIZE ||
        (h.profile != FJIT_PROFILE_FEMTO && h.profile != FJIT_PROFILE_RFC) ||
        (h.flags & ~(uint32_t)FJIT_BLOB_KNOWN_FLAGS) != 0) {
        return FJIT_E_HEADER;
    }
    if (!section_inside(h.code_offset, h.code_size, len) ||
        !section_inside(h.data_offset, h.data_size, len) ||
        !section_inside(h.rodata_offset, h.rodata_size, len) ||
        !section_inside(h.imports_offset, (uint64_t)h.n_imports * 4u, len)) {
        return FJIT_E_BOUNDS;
    }
    if (h.code_offset % 4u != 0 || h.imports_offset % 4u != 0 ||
        addr_of(b + h.code_offset) % 4u != 0) {
        return FJIT_E_ALIGN;
    }
    if (h.entry_offset >= h.code_size || (h.entry_offset & (entry_alignment(h.target) - 1u)) != 0) {
        return FJIT_E_ENTRY;
    }
    if (fjit_crc32(b + FJIT_BLOB_HEADER_SIZE, len - FJIT_BLOB_HEADER_SIZE) != h.crc32) {
        return FJIT_E_CRC;
    }
    return FJIT_OK;
}

uint32_t fjit_blob_import_count(const void *blob)
{
    return rd32((const uint8_t *)blob + 48);
}

int32_t fjit_resolve_imports(const void *blob, const fjit_helper_entry_t *table, size_t n,
                             fjit_helper_t *out, size_t out_len)
{
    const uint8_t *b = (const uint8_t *)blob;
    uint32_t n_imports, imports_offset, i;
    if (blob == NULL || (table == NULL && n != 0)) {
        return FJIT_E_ARG;
    }
    n_imports = rd32(b + 48);
    imports_offset = rd32(b + 44);
    if (n_imports > out_len) {
        return FJIT_E_SPACE;
    }
    if (n_imports != 0 && out == NULL) {
        return FJIT_E_ARG;
    }
    for (i = 0; i < n_imports; i++) {
        uint32_t id = rd32(b + imports_offset + 4u * i);
        size_t j;
        for (j = 0; j < n && table[j].id != id; j++) {
        }
        if (j == n || table[j].fn == NULL) {
            return FJIT_ILLEGAL_CALL;
        }
        out[i] = table[j].fn;
    }
    return FJIT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Container                                                                              */

/* A writable region must not cover what the translated code trusts: the container (vm and
 * region table), the helper table, the code. Otherwise a store could rewrite its own bounds. */
static int covers_trusted(const fjit_container_t *c, uint64_t start, uint64_t len)
{
    return ranges_overlap(start, len, addr_of(c), sizeof(*c)) ||
           ranges_overlap(start, len, addr_of(c->vm.helpers),
                          (uint64_t)c->n_imports * sizeof(fjit_helper_t)) ||
           ranges_overlap(start, len, addr_of(c->code), c->code_size);
}

static int32_t check_region(const fjit_container_t *c, uint32_t index)
{
    const fjit_region_t *r = &c->regions[index];
    uint32_t i;
    if ((r->flags & FJIT_REGION_WRITE) && covers_trusted(c, r->start, r->len)) {
        return FJIT_E_OVERLAP;
    }
    /* Regions 0-3 are disjoint from each other (host regions may alias anything). */
    if (index <= FJIT_REGION_CTX) {
        for (i = 0; i < index; i++) {
            if (ranges_overlap(r->start, r->len, c->regions[i].start, c->regions[i].len)) {
                return FJIT_E_OVERLAP;
            }
        }
    }
    return FJIT_OK;
}

static void set_region(fjit_region_t *r, const void *start, size_t len, uint32_t flags)
{
    r->start = (uint32_t)(uintptr_t)start;
    r->len = (uint32_t)len;
    r->flags = flags;
}

static fjit_entry_t entry_from_address(uintptr_t addr)
{
#if FJIT_TARGET_NATIVE == FJIT_TARGET_ARMV7M
    addr |= 1u; /* Thumb state */
#endif
    return (fjit_entry_t)addr;
}

/* Code may have been written to RAM just before (a blob received at run time): make the
 * instruction fetch see it. */
static void sync_code(void)
{
#if FJIT_TARGET_NATIVE == FJIT_TARGET_ARMV7M
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#elif FJIT_TARGET_NATIVE == FJIT_TARGET_RV32IMC
    __asm__ volatile(".4byte 0x0000100f /* fence.i (Zifencei) */" ::: "memory");
#elif FJIT_TARGET_NATIVE == FJIT_TARGET_XTENSA_LX106 || \
    FJIT_TARGET_NATIVE == FJIT_TARGET_XTENSA_ESP32
    __asm__ volatile("isync" ::: "memory");
#endif
}

int32_t fjit_container_init(fjit_container_t *c, const void *blob, size_t len,
                            uint8_t *data_ram, size_t data_ram_len, uint8_t *stack,
                            const fjit_helper_t *helpers, void *fc)
{
    const uint8_t *b = (const uint8_t *)blob;
    fjit_blob_header_t h;
    int32_t st;
    uint32_t i;

    if (c == NULL) {
        return FJIT_E_ARG;
    }
    zero_container(c);
    if (blob == NULL || stack == NULL) {
        return FJIT_E_ARG;
    }
    if (!FJIT_CAN_EXECUTE) {
        return FJIT_E_TARGET;
    }
    st = fjit_blob_check(blob, len, (uint8_t)FJIT_TARGET_NATIVE);
    if (st != FJIT_OK) {
        return st;
    }
    fjit_blob_header(blob, len, &h);
    if (h.data_size > data_ram_len) {
        return FJIT_E_SPACE;
    }
    if (h.data_size != 0 && data_ram == NULL) {
        return FJIT_E_ARG;
    }
    if (addr_of(stack) % 4u != 0) {
        return FJIT_E_ALIGN;
    }
    if (h.n_imports != 0 && helpers == NULL) {
        return FJIT_E_ARG;
    }
    for (i = 0; i < h.n_imports; i++) {
        if (helpers[i] == NULL) {
            return FJIT_E_ARG;
        }
    }
    if (addr_of(stack) + FJIT_STACK_SIZE > 0x100000000ull ||
        addr_of(data_ram) + h.data_size > 0x100000000ull) {
        return FJIT_E_ARG;
    }

    c->blob = b;
    c->code = b + h.code_offset;
    c->code_size = h.code_size;
    c->entry = entry_from_address((uintptr_t)(b + h.code_offset + h.entry_offset));
    c->stack = stack;
    c->n_imports = h.n_imports;
    c->frame_size = h.frame_size;
    c->default_budget = h.default_budget;
    c->blob_flags = h.flags;
    c->profile = h.profile;

    set_region(&c->regions[FJIT_REGION_STACK], stack, FJIT_STACK_SIZE, FJIT_REGION_RW);
    set_region(&c->regions[FJIT_REGION_DATA], data_ram, h.data_size, FJIT_REGION_RW);
    set_region(&c->regions[FJIT_REGION_RODATA], b + h.rodata_offset, h.rodata_size,
               FJIT_REGION_READ);
    set_region(&c->regions[FJIT_REGION_CTX], NULL, 0, FJIT_REGION_RW);

    c->vm.regions = c->regions;
    c->vm.n_regions = FJIT_FIRST_HOST_REGION;
    c->vm.stack_top = (uint32_t)(uintptr_t)(stack + FJIT_STACK_SIZE);
    c->vm.helpers = helpers;
    c->vm.fc = fc;

    for (i = FJIT_REGION_STACK; i <= FJIT_REGION_RODATA; i++) {
        st = check_region(c, i);
        if (st != FJIT_OK) {
            return st;
        }
    }
    copy_bytes(data_ram, b + h.data_offset, h.data_size);
    sync_code();
    c->ready = 1;
    return FJIT_OK;
}

int32_t fjit_container_use_entry(fjit_container_t *c, fjit_entry_t entry)
{
    const uint8_t *linked;
    const uint8_t *own;
    uintptr_t addr;
    uint32_t entry_offset, i;

    if (c == NULL || !c->ready || entry == NULL) {
        return FJIT_E_ARG;
    }
    addr = (uintptr_t)entry;
#if FJIT_TARGET_NATIVE == FJIT_TARGET_ARMV7M
    if ((addr & 1u) == 0) {
        return FJIT_E_ENTRY; /* not a Thumb function */
    }
    addr &= ~(uintptr_t)1u;
#endif
    entry_offset = rd32(c->blob + 24);
    if (addr < entry_offset || addr % 4u != entry_offset % 4u) {
        return FJIT_E_ALIGN;
    }
    linked = (const uint8_t *)(addr - entry_offset);
    own = c->blob + rd32(c->blob + 16);
    for (i = 0; i < c->code_size; i++) {
        if (linked[i] != own[i]) {
            return FJIT_E_CODE;
        }
    }
    {
        const uint8_t *previous_code = c->code;
        c->code = linked; /* the trust checks must now protect the linked code */
        for (i = 0; i < c->vm.n_regions; i++) {
            if (i != FJIT_REGION_CTX && (c->regions[i].flags & FJIT_REGION_WRITE) &&
                covers_trusted(c, c->regions[i].start, c->regions[i].len)) {
                c->code = previous_code;
                return FJIT_E_OVERLAP;
            }
        }
    }
    c->entry = entry;
    return FJIT_OK;
}

int32_t fjit_add_region(fjit_container_t *c, const void *start, size_t len, uint32_t flags)
{
    uint32_t index;
    int32_t st;
    if (c == NULL || !c->ready || (flags & ~(uint32_t)FJIT_REGION_RW) != 0 ||
        addr_of(start) + len > 0x100000000ull) {
        return FJIT_E_ARG;
    }
    index = c->vm.n_regions;
    if (index >= FJIT_MAX_REGIONS) {
        return FJIT_E_SPACE;
    }
    set_region(&c->regions[index], start, len, flags);
    st = check_region(c, index);
    if (st != FJIT_OK) {
        set_region(&c->regions[index], NULL, 0, 0);
        return st;
    }
    c->vm.n_regions = index + 1u;
    return (int32_t)index;
}

uint32_t fjit_container_default_budget(const fjit_container_t *c)
{
    return c->default_budget;
}

int32_t fjit_execute_ctx(fjit_container_t *c, void *ctx, size_t ctx_len,
                         uint32_t branch_budget, int64_t *result)
{
    fjit_vm_t *vm;
    int32_t st;
    uint32_t i;

    if (c == NULL || !c->ready || (ctx == NULL && ctx_len != 0) ||
        addr_of(ctx) + ctx_len > 0x100000000ull) {
        return FJIT_E_ARG;
    }
    set_region(&c->regions[FJIT_REGION_CTX], ctx, ctx_len, FJIT_REGION_RW);
    st = check_region(c, FJIT_REGION_CTX);
    if (st != FJIT_OK) {
        set_region(&c->regions[FJIT_REGION_CTX], NULL, 0, FJIT_REGION_RW);
        return st;
    }

#ifndef FJIT_NO_STACK_CLEAR
    /* Every run starts from a zeroed stack: nothing leaks from the previous run, and runs
     * are reproducible (the reference interpreter starts from zeros too). */
    zero_stack(c->stack);
#endif
    vm = &c->vm;
    vm->ctx = (uint32_t)(uintptr_t)ctx;
    vm->ctx_len = (uint32_t)ctx_len;
    vm->branches_remaining = branch_budget;
    vm->status = FJIT_OK;
    vm->reserved = 0;
    vm->result = 0;
    for (i = 0; i < 11u; i++) {
        ((volatile uint64_t *)vm->regs)[i] = 0;
    }

    st = c->entry(vm);

    if (result != NULL) {
        *result = (int64_t)vm->result;
    }
    return st;
}

int32_t fjit_vm_check_access(const fjit_vm_t *vm, uint32_t addr, uint32_t len, uint32_t perm)
{
    uint32_t i;
    uint64_t end = (uint64_t)addr + len;
    if (vm == NULL || end > 0x100000000ull) {
        return FJIT_ILLEGAL_MEM;
    }
    for (i = 0; i < vm->n_regions; i++) {
        const fjit_region_t *r = &vm->regions[i];
        if (r->start <= addr && end <= (uint64_t)r->start + r->len) {
            return (r->flags & perm) == perm ? FJIT_OK : FJIT_ILLEGAL_MEM;
        }
    }
    return FJIT_ILLEGAL_MEM;
}
