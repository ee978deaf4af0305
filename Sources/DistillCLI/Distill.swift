func _placeholder() {}
