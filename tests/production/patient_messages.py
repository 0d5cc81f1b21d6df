"""What the simulated patients say (Locust's patients in locustfile.py, and bench/).

Kept apart from locustfile.py because importing Locust monkeypatches the process (gevent).
"""

OPENERS = ["hello", "hi there", "good morning"]
QUESTIONS = [
    "what is the gluteus medius",
    "where is the gluteus medius muscle",
    "what does the gluteus medius do",
    "what happens if my glute med is weak",
    "why does my hip drop when I walk",
    "what causes pain in the side of my hip",
    "I get buttock pain when I sit for a long time",
    "could my buttock pain be sciatica",
    "what are the symptoms of a gluteus medius tear",
    "how is gluteus medius tendinopathy diagnosed",
    "what is the trendelenburg test",
    "how is it treated",
    "what can I do at home for the pain",
    "should I use ice or heat",
    "can I take painkillers for it",
    "do steroid injections help",
    "when would I need surgery",
    "what is PRP",
    "should I see a physio",
    "which exercises strengthen the gluteus medius",
    "how do I do hip drops",
    "how do I do crab steps",
    "how do I prevent it coming back",
    "what happens if I ignore it",
    "when should I see a doctor",
    "tell me more",
    "the second one",
    "how do I book an appointment",
    "what are your opening hours",
    "can I talk to a person",
    "thanks",
    "my knee hurts too",
    "what's the weather like",
]
RED_FLAGS = [
    "I suddenly can't feel my groin and I can't control my bladder",
    "I fell and now I can't put any weight on my leg",
    "my hip is hot and swollen and I have a fever",
]
