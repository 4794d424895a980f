# A template that eats memory: the render ends at its memory limit.
chunks = []
while True:
    chunks.append(bytearray(16 << 20))
